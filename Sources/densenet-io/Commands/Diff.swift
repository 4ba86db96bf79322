import ArgumentParser
import Foundation
import KerasFormat

/// `densenet-io diff A B`: weight-by-weight comparison of two files of any formats.
struct Diff: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Compare the weights of two files of any formats; exit 0 when equal within tolerance, 1 otherwise.",
        discussion: """
            Weights are matched as the files' own framework loads them: tf-keras .h5 files by position (layers \
            with weights in order, then each layer's weights in order, whatever their names), Keras 3 \
            .weights.h5/.keras by object path, safetensors by tensor name. Across families a weight is identified \
            by its owning layer's unique Keras name ('/' read as '_') and its position among that layer's \
            variables; safetensors written by densenet-io record their Keras origin, those PyTorch wrote are read \
            by torchvision's names and torch.nn's parameter names, and are compared in Keras' layout. \
            --by-order pairs the n-th weight of A with the n-th of B, for files whose names differ. Weights \
            matched under different names are counted in a note, never a difference. Optimizer state is compared across tf-keras and \
            Keras 3 by its place in Keras' optimizer.variables (iterations, then the slots). A pair is equal when \
            every element satisfies |a - b| <= atol + rtol * |b| (NaN equals NaN). Arrays only one file holds \
            are counted as not compared, and the verdict says so.
            """)

    @Argument(help: "The first file (A).", completion: .file())
    var a: String

    @Argument(help: "The second file (B).", completion: .file())
    var b: String

    @Option(help: "Absolute tolerance.")
    var atol: Double = 0

    @Option(help: "Relative tolerance.")
    var rtol: Double = 0

    @Flag(help: "Pair the n-th weight of A with the n-th of B, in the order each file lists them (for files whose names differ).")
    var byOrder = false

    @Flag(help: "List every weight: the equal ones too, and every problem (by default the first 5 problems are listed).")
    var verbose = false

    @Flag(help: "Print one JSON document instead of text.")
    var json = false

    func validate() throws {
        guard atol >= 0, rtol >= 0 else { throw ValidationError("--atol and --rtol must not be negative") }
    }

    func run() throws {
        let listingA = try WeightListing.read(a), listingB = try WeightListing.read(b)
        let diff = try WeightDiff.compare(listingA, listingB, atol: atol, rtol: rtol, rule: byOrder ? .order : nil)
        if json {
            print(try jsonText(diff))
        } else {
            print(render(diff), terminator: "")
            // Files of different models: say what each holds rather than leave hundreds of lines to read.
            if diff.entries.contains(where: { $0.status == .missing || $0.status == .extra }) {
                print("A holds: \(WeightListingSummary(listingA).line)")
                print("B holds: \(WeightListingSummary(listingB).line)")
            }
        }
        if !diff.isEqual { throw ExitCode(1) }
    }

    func render(_ diff: WeightDiff) -> String {
        var out = "A: \(diff.fileA) (\(diff.formatA))\nB: \(diff.fileB) (\(diff.formatB))\n"
        out += "matched by \(diff.identity); tolerance atol \(diff.atol), rtol \(diff.rtol)\n\n"
        func shape(_ s: [Int]?) -> String { s.map { "[\($0.map(String.init).joined(separator: ", "))]" } ?? "-" }
        func number(_ x: Double?) -> String { x.map { String(format: "%.6g", $0) } ?? "-" }
        var counts: [WeightDiff.Entry.Status: Int] = [:]
        let problemCount = diff.entries.filter { $0.status != .equal }.count
        let listsEveryProblem = verbose || problemCount <= MismatchDiagnosis.shownMismatches
        var problemsListed = 0
        for entry in diff.entries {
            counts[entry.status, default: 0] += 1
            let names = entry.otherName.map { "\(entry.name) ↔ \($0)" } ?? entry.name
            if entry.status != .equal {
                guard listsEveryProblem || problemsListed < MismatchDiagnosis.shownMismatches else { continue }
                problemsListed += 1
            }
            switch entry.status {
            case .equal:
                if verbose { out += "equal           \(names)  max abs \(number(entry.maxAbsolute))\n" }
            case .different:
                out +=
                    "different       \(names) (layer \(entry.layer)): max abs \(number(entry.maxAbsolute)), max rel \(number(entry.maxRelative)), \(entry.mismatched ?? 0) elements outside tolerance\n"
            case .missing:
                out += "missing         \(names) (layer \(entry.layer)) \(shape(entry.shapeA)): in A, not in B\n"
            case .extra:
                out += "extra           \(names) (layer \(entry.layer)) \(shape(entry.shapeB)): in B, not in A\n"
            case .shapeMismatch:
                out += "shape mismatch  \(names) (layer \(entry.layer)): A \(shape(entry.shapeA)), B \(shape(entry.shapeB))\n"
            case .dtypeMismatch:
                out += "dtype mismatch  \(names) (layer \(entry.layer)): A \(entry.dtypeA ?? "-"), B \(entry.dtypeB ?? "-")\n"
            }
        }
        if problemsListed < problemCount {
            out += "…               and \(problemCount - problemsListed) more problem(s) (--verbose lists every one)\n"
        }
        for note in diff.skipped { out += "not compared    \(note)\n" }
        if diff.renamedCount > 0 {
            out += "note            \(diff.renamedCount) weights matched under different names (as their framework loads them)\n"
        }
        let largest = diff.entries.compactMap(\.maxAbsolute).max() ?? 0
        out +=
            "\n\(diff.entries.count) weights: \(counts[.equal] ?? 0) equal, \(counts[.different] ?? 0) different, "
            + "\(counts[.missing] ?? 0) missing, \(counts[.extra] ?? 0) extra, \(counts[.shapeMismatch] ?? 0) shape and "
            + "\(counts[.dtypeMismatch] ?? 0) dtype mismatches; \(diff.skipped.count) arrays not compared; "
            + "max abs difference \(number(largest))\n"
        out +=
            !diff.isEqual
            ? "differ\n"
            : diff.isComplete ? "equal\n" : "equal in what was compared (\(diff.skipped.count) arrays not compared, listed above)\n"
        return out
    }
}
