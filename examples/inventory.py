"""A small inventory module: the example that ttune's README runs on."""

from dataclasses import dataclass, field


@dataclass
class Item:
    name: str
    price: float
    quantity: int = 0


@dataclass
class Inventory:
    items: dict = field(default_factory=dict)

    def add(self, item):
        """Add an item, merging quantities when the name is already stocked."""
        if item.name in self.items:
            self.items[item.name].quantity += item.quantity
        else:
            self.items[item.name] = item
        return self.items[item.name]

    def remove(self, name, quantity=1):
        """Take some units of an item out of stock; drop it when none are left."""
        item = self.items.get(name)
        if item is None:
            raise KeyError(name)
        if quantity > item.quantity:
            raise ValueError(f"only {item.quantity} of {name} in stock")
        item.quantity -= quantity
        if item.quantity == 0:
            del self.items[name]
        return quantity

    def total_value(self):
        """Return the value of everything in stock."""
        total = 0.0
        for item in self.items.values():
            total += item.price * item.quantity
        return total


def cheapest(items, budget):
    """Return the names of the cheapest items whose total price fits the budget."""
    chosen = []
    spent = 0.0
    for item in sorted(items, key=lambda i: i.price):
        if spent + item.price > budget:
            break
        chosen.append(item.name)
        spent += item.price
    return chosen


def read_prices(path):
    """Read name,price lines from a file into a dictionary, skipping malformed lines."""
    prices = {}
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            try:
                name, price = line.strip().split(",")
                prices[name] = float(price)
            except ValueError:
                continue
    return prices
