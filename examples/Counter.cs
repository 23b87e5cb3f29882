using System;
using System.Collections.Generic;

public class Counter
{
    private readonly Dictionary<string, int> counts = new Dictionary<string, int>();

    public void Add(string word)
    {
        if (counts.ContainsKey(word))
        {
            counts[word] += 1;
        }
        else
        {
            counts[word] = 1;
        }
    }

    public string MostCommon()
    {
        string best = null;
        int bestCount = 0;
        foreach (var pair in counts)
        {
            if (pair.Value > bestCount)
            {
                best = pair.Key;
                bestCount = pair.Value;
            }
        }
        return best;
    }
}
