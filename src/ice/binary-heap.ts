/**
 * A minimal binary heap. The checklist keeps its Waiting pairs in one so that picking the
 * highest-priority Waiting pair (RFC 8445 §6.1.4.2) costs O(log n), not a scan of every pair:
 * a survey of 10,000 pairs would otherwise spend O(n²) in the scheduler.
 */
export class BinaryHeap<T> {
  private readonly items: T[] = [];

  /** `before(a, b)` is true when `a` must come out before `b`. */
  constructor(private readonly before: (a: T, b: T) => boolean) {}

  get size(): number {
    return this.items.length;
  }

  push(item: T): void {
    // Sift up by moving parents down into the hole; no swaps, no temporary arrays.
    const items = this.items;
    let index = items.length;
    items.push(item);
    while (index > 0) {
      const parent = (index - 1) >> 1;
      const parentItem = items[parent]!;
      if (!this.before(item, parentItem)) break;
      items[index] = parentItem;
      index = parent;
    }
    items[index] = item;
  }

  peek(): T | undefined {
    return this.items[0];
  }

  pop(): T | undefined {
    const items = this.items;
    if (items.length === 0) return undefined;
    const top = items[0]!;
    const last = items.pop()!;
    const size = items.length;
    if (size > 0) {
      let index = 0;
      for (;;) {
        const left = 2 * index + 1;
        if (left >= size) break;
        const right = left + 1;
        const child = right < size && this.before(items[right]!, items[left]!) ? right : left;
        const childItem = items[child]!;
        if (!this.before(childItem, last)) break;
        items[index] = childItem;
        index = child;
      }
      items[index] = last;
    }
    return top;
  }

  clear(): void {
    this.items.length = 0;
  }
}
