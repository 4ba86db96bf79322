import ArgumentParser
import DenseNetEngine
import Foundation
import HDF5
import KerasFormat
import ONNXFormat

/// `densenet-io verify FILE`: does this file fit the architecture, survive every format, and
/// reproduce Keras' outputs?
struct Verify: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check a weight file against an architecture, every format round trip and, optionally, Keras' outputs.",
        discussion: """
            1. Per-layer report: each weight the model expects in the file's format, with expected and found \
            shape and type, missing and extra weights, NaN/Inf values. 2. Loads the file, writes the weights to \
            every format and reads them back: they must be bit-identical. 3. With --reference (HDF5: inputs \
            float32 N×H×W×C, outputs float32 N×classes, as real Keras produced them) runs inference and compares. \
            An ONNX file (.onnx) densenet-io wrote is checked instead for a well-formed graph and for \
            initializers equal bit for bit to its source file's weights (the source it records, or --source). \
            Exit 0 when every check passes, 1 when one fails, 2 for unusable input.
            """)

    @Argument(help: "The weight file (any known format).", completion: .file())
    var file: String

    @OptionGroup var modelOptions: ModelOptions

    @Option(help: ArgumentHelp("Reference inputs and outputs (HDF5 with `inputs` and `outputs`).", valueName: "io.h5"), completion: .file())
    var reference: String?

    @Option(help: "Largest absolute difference from the reference outputs that passes.")
    var atol: Double = 1e-5

    @Flag(help: "List every weight, not only those with problems.")
    var verbose = false

    @Option(
        help: ArgumentHelp("ONNX files only: the weight file it was written from (default: the one it records).", valueName: "file"),
        completion: .file())
    var source: String?

    func run() throws {
        if file.lowercased().hasSuffix(OutputTarget.onnxEnding) { return try verifyONNX() }
        let input = try WeightFile(file)
        let choice = try modelOptions.choice(for: input)
        let model = try choice.build()
        let listing = try WeightListing.read(input)
        print("\(file): \(listing.format.description); model \(choice.name), input \(model.inputShape), output \(model.outputShape)")
        if let recognized = choice.recognized { print("the weights show \(recognized.summary)") }
        var failures = 0

        // 1. Per-layer report against what this model writes in the file's format, matched as the
        // file's framework loads it.
        let expected = try WeightListing.expected(of: model, format: listing.format)
        failures += try report(expected: expected, found: listing)
        if failures > 0 {
            if !verbose && failures > MismatchDiagnosis.shownMismatches {
                print("\nDiagnosis:")
                for line in try MismatchDiagnosis(model: model, modelName: choice.name, found: listing).lines { print("  \(line)") }
            }
            print("\nverify: FAILED — \(failures) problem(s) in \(file)")
            throw ExitCode(1)
        }
        let modelName = choice.name

        // 2. Load, then every format's round trip.
        do {
            try model.loadWeights(from: input)
        } catch let error as KerasFormatError {
            print("load: FAILED — \(error)")
            print("\nverify: FAILED — \(file) does not load into \(modelName)")
            throw ExitCode(1)
        }
        let original = model.weights.map { $0.values.map(\.bitPattern) }
        print("\nRound trips (write, read back, compare bits):")
        for format in WeightFileFormat.allCases where format.holdsWeights && format.isWritable {
            let scratch = FileManager.default.temporaryDirectory.appendingPathComponent(
                "densenet-io-verify-\(getpid())-\(format.name)-\(UUID().uuidString)"
            ).path
            defer { try? FileManager.default.removeItem(atPath: scratch) }
            let label = format.name.padding(toLength: 12, withPad: " ", startingAt: 0)
            do {
                try model.saveWeights(to: scratch, format: format)
            } catch let error as KerasFormatError where error.reason == .wrongFormat {
                // The format cannot describe this model (e.g. a layer Keras' config vocabulary lacks):
                // a limit of the writer, not a problem of the file being verified.
                print("  \(label) not written: \(error)")
                continue
            } catch {
                failures += 1
                print("  \(label) FAILED: \(error)")
                continue
            }
            do {
                let copy = try choice.build(seed: 1)
                try copy.loadWeights(from: scratch)
                let differing = zip(model.weights, copy.weights).filter { $0.0.values.map(\.bitPattern) != $0.1.values.map(\.bitPattern) }
                if differing.isEmpty && copy.weights.map({ $0.values.map(\.bitPattern) }) == original {
                    print("  \(label) bit-identical")
                } else {
                    failures += 1
                    print("  \(label) FAILED: \(differing.count) weights differ after reading back")
                }
            } catch {
                failures += 1
                print("  \(label) FAILED: \(error)")
            }
        }

        // 3. Reference outputs.
        if let reference {
            let (inputs, outputs, count) = try Self.readReference(reference, inputShape: model.inputShape, outputShape: model.outputShape)
            let predicted = try model.predict(inputs)
            var maxAbsolute = 0.0, maxRelative = 0.0
            for (p, q) in zip(predicted, outputs) {
                let difference = p.isNaN || q.isNaN ? Double.infinity : Double(abs(p - q))
                maxAbsolute = max(maxAbsolute, difference)
                maxRelative = max(maxRelative, q == 0 ? (difference == 0 ? 0 : .infinity) : difference / Double(abs(q)))
            }
            let passed = maxAbsolute <= atol
            if !passed { failures += 1 }
            print(
                "\nReference \(reference): \(count) samples, max abs error \(String(format: "%.3g", maxAbsolute)), "
                    + "max rel error \(String(format: "%.3g", maxRelative)) (atol \(atol)): \(passed ? "ok" : "FAILED")")
        }
        print(failures == 0 ? "\nverify: OK" : "\nverify: FAILED — \(failures) check(s) failed")
        if failures > 0 { throw ExitCode(1) }
    }

    /// Checks an ONNX file densenet-io wrote: its graph well formed, then graph and initializers equal
    /// to its source file's model exported anew (so every initializer holds the source's bits).
    func verifyONNX() throws {
        let onnx = try ONNXFile(contentsOf: file)
        print("\(file): ONNX IR \(onnx.irVersion), \(onnx.summary), written by \(onnx.producer)")
        let problems = onnx.wellFormednessProblems
        for problem in problems { print("  ✗ \(problem)") }
        print(problems.isEmpty ? "Graph: well formed" : "Graph: \(problems.count) problem(s)")
        guard let sourcePath = source ?? onnx.metadata[ONNXExport.MetadataKey.source] else {
            throw InputError("\(file) records no source file; name it with --source")
        }
        let layout = ONNXLayout(rawValue: onnx.metadata[ONNXExport.MetadataKey.layout] ?? "") ?? .nhwc
        let input = try WeightFile(sourcePath)
        let choice = try modelOptions.choice(for: input)
        let model = try choice.build()
        let modelName = choice.name
        try model.loadWeights(from: input)
        let expected = try ONNXFile(
            exporting: model, layout: layout,
            source: ONNXSource(path: sourcePath, format: input.format.name, model: modelName, producerVersion: DenseNetIO.version))
        let differences = onnx.differences(from: expected)
        for difference in differences { print("  ✗ \(difference)") }
        print(
            differences.isEmpty
                ? "Against \(sourcePath) (\(input.format.name), \(modelName)): \(onnx.initializers.count) initializers bit-identical, graph identical"
                : "Against \(sourcePath): \(differences.count) difference(s)")
        let failures = problems.count + differences.count
        print(failures == 0 ? "\nverify: OK" : "\nverify: FAILED — \(failures) check(s) failed")
        if failures > 0 { throw ExitCode(1) }
    }

    /// Prints the per-layer report; returns the number of problems. Weights are paired by the rule
    /// the file's framework loads by (`MatchingRule`); those stored under other names are a note.
    /// Without `--verbose` only the first `MismatchDiagnosis.shownMismatches` problems are listed.
    func report(expected: WeightListing, found: WeightListing) throws -> Int {
        let pairing = WeightPairing(expected.weights, found.weights, rule: MatchingRule.between(found.format, found.format))
        func shape(_ s: [Int]) -> String { "[\(s.map(String.init).joined(separator: ", "))]" }
        var problems: [(StoredWeight, String)] = []
        var lines: [(weight: StoredWeight, bad: Bool, text: String)] = []
        for pair in pairing.pairs {
            let (weight, stored) = (pair.a, pair.b)
            var text: String
            if stored.shape != weight.shape {
                text = "shape mismatch: expected \(shape(weight.shape)), found \(shape(stored.shape))"
            } else if stored.dataType != weight.dataType {
                text = "dtype mismatch: expected \(weight.dataType), found \(stored.dataType)"
            } else {
                let stats = WeightStatistics(try stored.values())
                text =
                    stats.hasNonFinite
                    ? "\(shape(stored.shape)) \(stored.dataType): \(stats.nans) NaN, \(stats.infinities) Inf values"
                    : "\(shape(stored.shape)) \(stored.dataType) ok"
                if !stats.hasNonFinite {
                    lines.append((weight, false, text + (pair.isRenamed ? " (stored as \(stored.path))" : "")))
                    continue
                }
            }
            if pair.isRenamed { text += " (stored as \(stored.path))" }
            lines.append((weight, true, text))
        }
        for weight in pairing.onlyInA {
            lines.append((weight, true, "MISSING: expected \(shape(weight.shape)) \(weight.dataType), not in the file"))
        }
        print("\nWeights (expected by the model vs found, matched by \(pairing.rule.shortName)):")
        // A file of another model has hundreds of problems: then the diagnosis speaks instead of them.
        let problemCount = lines.filter(\.bad).count + pairing.onlyInB.count
        let listsProblems = verbose || problemCount <= MismatchDiagnosis.shownMismatches
        var currentGroup = ""
        var shown = 0
        for (weight, bad, text) in lines where bad || verbose {
            if bad { problems.append((weight, text)) }
            guard listsProblems else { continue }
            shown += 1
            if weight.group != currentGroup {
                currentGroup = weight.group
                print("  \(weight.group) (layer \(weight.layer))")
            }
            print(verbose ? "    \(bad ? "✗" : "✓") \(weight.label): \(text)" : MismatchDiagnosis.clipped("    ✗ \(weight.label): \(text)"))
        }
        let optimizer = found.weights.filter { $0.kind == .optimizer }
        if !optimizer.isEmpty {
            print(
                "  (optimizer state: \(optimizer.count) arrays, \(optimizer.reduce(0) { $0 + $1.parameterCount }) values — not model weights, not checked)"
            )
        }
        for stored in pairing.onlyInB where !stored.isPyTorchOnly || found.format.family != .safetensors {
            problems.append((stored, "extra"))
            guard listsProblems else { continue }
            shown += 1
            print(
                "  ✗ EXTRA \(stored.path) (layer \(stored.layer)) \(shape(stored.shape)) \(stored.dataType): in the file, not in the model")
        }
        if problems.count > shown { print("  \(problems.count) problems: the diagnosis below sums them up (--verbose lists them)") }
        let renamed = pairing.renamed
        if !renamed.isEmpty {
            print("  note: \(renamed.count) weights stored under other names load by \(pairing.rule.shortName)")
            print(MismatchDiagnosis.clipped("    e.g. \(renamed[0].b.path) for \(renamed[0].a.path)"))
        }
        print(
            "  \(pairing.pairs.count) of \(expected.weights.filter { $0.kind != .optimizer }.count) expected weights found, \(problems.count) problem(s)"
        )
        return problems.count
    }

    static func readReference(_ path: String, inputShape: [Int], outputShape: [Int]) throws -> ([Float], [Float], Int) {
        do {
            let root = try File.open(path).root
            let inputs = try root.dataset("inputs").read(as: Float.self)
            let outputs = try root.dataset("outputs").read(as: Float.self)
            guard inputs.shape.count == inputShape.count + 1, Array(inputs.shape.dropFirst()) == inputShape else {
                throw InputError(
                    "\(path): inputs have shape \(inputs.shape), the model takes N×\(inputShape.map(String.init).joined(separator: "×"))")
            }
            guard outputs.shape == [inputs.shape[0]] + outputShape else {
                throw InputError("\(path): outputs have shape \(outputs.shape), expected \([inputs.shape[0]] + outputShape)")
            }
            return (inputs.scalars, outputs.scalars, inputs.shape[0])
        } catch let error as HDF5Error {
            throw InputError("reference \(error.description)")
        }
    }
}

/// A problem with what the user gave (exit status 2), reported as its description.
struct InputError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
