import ArgumentParser

extension DenseNetIO {
    /// The message for a first argument that names no subcommand (`densenet-io convrt a.h5`):
    /// "unknown command 'convrt'; did you mean 'convert'?", as git and cargo answer a typo; nil when
    /// the first argument is an option or a subcommand (the parser's own message is the better one).
    static func unknownSubcommandMessage(_ arguments: [String]) -> String? {
        guard let typed = arguments.first, !typed.hasPrefix("-") else { return nil }
        let names = configuration.subcommands.map { $0._commandName } + ["help"]
        guard !names.contains(typed) else { return nil }
        let closest = names.map { (name: $0, distance: editDistance(typed.lowercased(), $0)) }.min { $0.distance < $1.distance }
        // A typo changes a letter or two; a longer distance is another word, not worth guessing at.
        if let closest, closest.distance <= max(2, typed.count / 3) {
            return "unknown command '\(typed)'; did you mean '\(closest.name)'?"
        }
        return "unknown command '\(typed)'; the commands are \(names.joined(separator: ", ")) (see densenet-io --help)"
    }
}

/// Levenshtein distance: the fewest single-character insertions, deletions and substitutions that
/// turn `a` into `b`.
func editDistance(_ a: String, _ b: String) -> Int {
    let b = Array(b)
    var previous = Array(0...b.count)  // distances from the first i characters of a to each prefix of b
    for (i, x) in a.enumerated() {
        var current = [i + 1]
        for (j, y) in b.enumerated() {
            current.append(min(previous[j + 1] + 1, current[j] + 1, previous[j] + (x == y ? 0 : 1)))
        }
        previous = current
    }
    return previous[b.count]
}
