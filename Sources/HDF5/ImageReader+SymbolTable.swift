import Foundation

/// Old-style groups in the file's bytes, as libhdf5 writes them by default: a symbol table message
/// (0x0011) names a version-1 B-tree of type 0, whose leaves are symbol table nodes ("SNOD") of
/// entries sorted by name, and a local heap ("HEAP") holding the NUL-terminated names.
extension ImageReader {
    /// An old-style group's B-tree root and its local heap's data segment.
    struct SymbolTable {
        let tree: Int
        let names: Range<Int>
    }

    /// The symbol table of the group whose object header is at `at`; nil for anything else
    /// (a dataset, new-style or compact link storage, a version-2 header, bad offsets).
    func symbolTable(ofGroupAt at: Int) -> SymbolTable? {
        var found: Message?
        guard
            forEachMessage(
                ofHeaderAt: at,
                { message in
                    if message.type == 0x11 { found = message }
                    return found == nil
                }), let message = found, !message.isShared, message.data.count >= 16, let tree = address(message.data.lowerBound),
            let heap = address(message.data.lowerBound + 8), has("HEAP", at: heap), int(heap + 4, 1) == 0,
            let size = int(heap + 8, 8), let segment = address(heap + 24), size <= raw.count - segment
        else { return nil }
        return SymbolTable(tree: tree, names: segment..<segment + size)
    }

    /// The object header of the hard link `name` in `table`, descending the B-tree by its keys
    /// (child i holds the names after key i up to key i + 1); nil when absent, a soft link, or malformed.
    func link(named name: UnsafeBufferPointer<UInt8>, in table: SymbolTable) -> Int? {
        var node = table.tree, expectedLevel: Int?
        while true {
            guard let (level, count) = treeNode(at: node, expectedLevel: expectedLevel) else { return nil }
            var chosen: Int?
            for i in 0..<count {
                guard let key = int(node + 24 + 16 * (i + 1), 8), let order = compare(name, toNameAt: key, in: table) else { return nil }
                if order <= 0 { chosen = i; break }
            }
            guard let chosen, let child = address(node + 32 + 16 * chosen) else { return nil }
            if level == 0 { return entry(named: name, inNodeAt: child, table) }
            // Levels strictly decrease, so the descent ends even in a malformed file.
            node = child
            expectedLevel = level - 1
        }
    }

    /// The names of all links in `table`, in the B-tree's order (byte order, as libhdf5 lists them).
    func linkNames(in table: SymbolTable) -> [String]? {
        var names: [String] = []
        let walked = forEachEntry(in: table) { entry in
            guard let offset = int(entry, 8), let name = name(at: offset, in: table) else { return false }
            names.append(name)
            return true
        }
        return walked ? names : nil
    }

    /// The object header each link of `table` leads to, in the B-tree's order; nil when a link is a
    /// soft link or leads outside the bytes.
    func linkTargets(in table: SymbolTable) -> [Int]? {
        var targets: [Int] = []
        let walked = forEachEntry(in: table) { entry in
            guard int(entry + 16, 4) != 2, let target = address(entry + 8) else { return false }  // cache type 2: soft link
            targets.append(target)
            return true
        }
        return walked ? targets : nil
    }

    /// Calls `body` with where each 40-byte symbol table entry of `table` starts, in the B-tree's order,
    /// until it returns false; false then or when the tree is malformed.
    private func forEachEntry(in table: SymbolTable, _ body: (Int) -> Bool) -> Bool {
        // A sane file holds each node and each 40-byte entry once; these bound the walk of a malformed
        // one whose nodes repeat.
        var nodeBudget = raw.count / 24
        var entryBudget = raw.count / 40
        func visit(_ node: Int, _ expectedLevel: Int?) -> Bool {
            nodeBudget -= 1
            guard nodeBudget >= 0, let (level, count) = treeNode(at: node, expectedLevel: expectedLevel) else { return false }
            for i in 0..<count {
                guard let child = address(node + 32 + 16 * i) else { return false }
                if level > 0 {
                    guard visit(child, level - 1) else { return false }
                    continue
                }
                nodeBudget -= 1
                guard nodeBudget >= 0, has("SNOD", at: child), int(child + 4, 1) == 1, let entries = int(child + 6, 2),
                    entries <= entryBudget
                else { return false }
                entryBudget -= entries
                for e in 0..<entries where !body(child + 8 + 40 * e) { return false }
            }
            return true
        }
        return visit(table.tree, nil)
    }

    /// The level and number of children of the group B-tree node at `at`.
    private func treeNode(at: Int, expectedLevel: Int?) -> (level: Int, count: Int)? {
        guard has("TREE", at: at), int(at + 4, 1) == 0, let level = int(at + 5, 1), let count = int(at + 6, 2),
            expectedLevel.map({ $0 == level }) ?? true
        else { return nil }
        return (level, count)
    }

    /// The object header of the entry `name` in the symbol table node at `at`.
    private func entry(named name: UnsafeBufferPointer<UInt8>, inNodeAt at: Int, _ table: SymbolTable) -> Int? {
        guard has("SNOD", at: at), int(at + 4, 1) == 1, let count = int(at + 6, 2) else { return nil }
        for e in 0..<count {
            let entry = at + 8 + 40 * e
            guard let offset = int(entry, 8), let order = compare(name, toNameAt: offset, in: table) else { return nil }
            if order == 0 { return int(entry + 16, 4) == 2 ? nil : address(entry + 8) }  // cache type 2: soft link
            if order < 0 { return nil }
        }
        return nil
    }

    /// strcmp of `name` (no NUL inside) with the NUL-terminated name at `offset` in the local heap:
    /// negative, zero or positive; nil when that name runs outside the heap before they differ.
    /// memcmp's sign is strcmp's: a heap name ending first has a NUL where `name` has a larger byte.
    private func compare(_ name: UnsafeBufferPointer<UInt8>, toNameAt offset: Int, in table: SymbolTable) -> Int? {
        guard offset >= 0, offset < table.names.count, let stored = raw.baseAddress else { return nil }
        let start = table.names.lowerBound + offset, available = table.names.upperBound - start
        let common = min(name.count, available)
        let order = name.baseAddress.map { memcmp($0, stored + start, common) } ?? 0
        if order != 0 { return order < 0 ? -1 : 1 }
        guard name.count < available else { return nil }
        return raw[start + name.count] == 0 ? 0 : -1
    }

    /// The NUL-terminated name at `offset` in the local heap.
    private func name(at offset: Int, in table: SymbolTable) -> String? {
        guard offset >= 0, offset < table.names.count,
            let end = raw[(table.names.lowerBound + offset)..<table.names.upperBound].firstIndex(of: 0)
        else { return nil }
        return String(decoding: raw[(table.names.lowerBound + offset)..<end], as: UTF8.self)
    }
}
