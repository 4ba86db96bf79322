import DenseNetEngine
import Foundation

/// A few terminal-width lines on why a file does not fit a model: the counts, the first few
/// mismatches, what the file seems to hold and the flags that would fit it. Every command prints
/// it instead of hundreds of per-weight lines.
public struct MismatchDiagnosis: Sendable {
    /// At most `maximumWidth` characters each.
    public let lines: [String]

    /// The widest line printed, in characters (a terminal's width).
    public static let maximumWidth = 100
    /// Mismatches shown by name; the rest are counted.
    public static let shownMismatches = 5

    /// Compares what `model` (called `modelName`) stores in `found`'s format with `found`, by the
    /// rule of `found`'s framework.
    public init(model: Model, modelName: String, found: WeightListing) throws {
        let expected = try WeightListing.expected(of: model, format: found.format)
        let pairing = WeightPairing(expected.weights, found.weights, rule: MatchingRule.between(found.format, found.format))
        let badShapes = pairing.pairs.filter { $0.a.shape != $0.b.shape || $0.a.dataType != $0.b.dataType }
        let expectedCount = pairing.pairs.count + pairing.onlyInA.count
        var lines = [
            "\(pairing.pairs.count - badShapes.count) of \(expectedCount) weights of \(modelName) fit, matched by \(pairing.rule.shortName):",
            "  \(badShapes.count) shape mismatches, \(pairing.onlyInA.count) missing, \(pairing.onlyInB.count) extra"
        ]
        func shape(_ s: [Int]) -> String { "[\(s.map(String.init).joined(separator: ", "))]" }
        let mismatches =
            badShapes.map { "  \($0.a.path): expected \(shape($0.a.shape)) \($0.a.dataType), found \(shape($0.b.shape)) \($0.b.dataType)" }
            + pairing.onlyInA.map { "  missing \($0.path) \(shape($0.shape))" }
            + pairing.onlyInB.map { "  extra \($0.path) \(shape($0.shape))" }
        if !mismatches.isEmpty {
            lines.append("first mismatches:")
            lines += mismatches.prefix(Self.shownMismatches)
            if mismatches.count > Self.shownMismatches { lines.append("  … and \(mismatches.count - Self.shownMismatches) more") }
        }
        let recognized = RecognizedDenseNet(found)
        lines.append("the file holds: \(recognized?.summary ?? WeightListingSummary(found).line)")
        if let recognized {
            lines.append(
                "flags that fit: \(recognized.flags.map { "\($0), or none" } ?? "none (leave out --model: no preset has these blocks)")")
        } else {
            lines.append("flags that fit: none; no preset holds these weights")
        }
        self.lines = lines.map(Self.clipped)
    }

    /// `line` cut to `maximumWidth` characters, with an ellipsis when cut.
    public static func clipped(_ line: String) -> String {
        line.count <= maximumWidth ? line : String(line.prefix(maximumWidth - 1)) + "…"
    }
}

/// One line on what a listing holds without knowing its architecture: counts and the first layers.
public struct WeightListingSummary: Sendable {
    /// The summary, at most `MismatchDiagnosis.maximumWidth` characters.
    public let line: String

    /// Summarises `listing`'s model weights (optimizer state left out).
    public init(_ listing: WeightListing) {
        let weights = listing.weights.filter { $0.kind != .optimizer }
        var layers: [String] = []
        for weight in weights where layers.last != weight.layer && !layers.contains(weight.layer) { layers.append(weight.layer) }
        let shown = layers.prefix(3).joined(separator: ", ") + (layers.count > 3 ? ", …" : "")
        let values = weights.reduce(0) { $0 + $1.parameterCount }
        line = "\(weights.count) weights in \(layers.count) layers (\(shown)), \(values) values"
    }
}

extension MatchingRule {
    /// A few words for one-line messages.
    public var shortName: String {
        switch self {
        case .position: "position, as tf-keras loads .h5"
        case .objectPath: "object path, as Keras 3 loads"
        case .tensorName: "tensor name, as load_state_dict"
        case .kerasLayerAndPosition: "Keras layer and position"
        case .order: "order"
        }
    }
}

extension WeightListing {
    /// The listing of the file `model` writes in `format` (written to a temporary file, then removed):
    /// what a file of that format must hold to load into the model.
    public static func expected(of model: Model, format: WeightFileFormat) throws -> WeightListing {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent(
            "densenet-io-expected-\(ProcessInfo.processInfo.processIdentifier)-\(UUID().uuidString)"
        ).path
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        try model.saveWeights(to: scratch, format: format.writtenCounterpart)  // a .pth compares with safetensors
        return try read(scratch)
    }
}
