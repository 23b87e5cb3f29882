import java.util.ArrayList;
import java.util.List;

/** A bounded stack of integers. */
public class Stack {
    private final List<Integer> items = new ArrayList<>();
    private final int capacity;

    public Stack(int capacity) {
        this.capacity = capacity;
    }

    /** Pushes a value, failing when the stack is full. */
    public void push(int value) {
        if (items.size() >= capacity) {
            throw new IllegalStateException("stack is full");
        }
        items.add(value);
    }

    /** Removes and returns the top value. */
    public int pop() {
        if (items.isEmpty()) {
            throw new IllegalStateException("stack is empty");
        }
        return items.remove(items.size() - 1);
    }

    /** Returns the sum of the values on the stack. */
    public int sum() {
        int total = 0;
        for (int i = 0; i < items.size(); i++) {
            total += items.get(i);
        }
        return total;
    }
}
