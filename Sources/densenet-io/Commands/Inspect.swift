import ArgumentParser
import Foundation
import HDF5
import KerasFormat

/// `densenet-io inspect FILE`: an h5ls that knows Keras, for every weight format.
struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List a weight file's layers and weights with shapes, types and parameter counts.",
        discussion: """
            Works on tf-keras .h5 weights, full-model/checkpoint and optimizer files, Keras 3 .weights.h5 and \
            .keras archives, and safetensors, telling the format from the file's contents. No model is needed: the \
            file is walked as stored. Trainable weights, non-trainable ones (BatchNorm moving statistics) and \
            optimizer state are listed and totalled separately.
            """)

    @Argument(help: "The weight file.", completion: .file())
    var file: String

    @Flag(help: "Add min, max, mean, std, zero count and NaN/Inf count per weight (reads all values).")
    var stats = false

    @Flag(help: "Print one JSON document instead of text.")
    var json = false

    func run() throws {
        let input: WeightFile
        do {
            input = try WeightFile(file)
        } catch let error as KerasFormatError where error.reason == .unknownFormat {
            // Not Keras, but perhaps HDF5: list it as h5ls would.
            guard let hdf5 = try? File.open(file) else { throw error }
            let tree = try TreeListing(hdf5)
            print(json ? try jsonText(tree.entries.map(HDF5Entry.init)) : renderTree(tree), terminator: json ? "\n" : "")
            return
        }
        var report = try InspectionReport(WeightListing.read(input), statistics: stats)
        report.optimizer = try input.readOptimizer().map(OptimizerSummary.init)
        if json {
            print(try jsonText(report))
        } else {
            print(render(report), terminator: "")
        }
        if let nonFinite = report.nonFinite, !nonFinite.isEmpty {
            FileHandle.standardError.write(
                Data(
                    "densenet-io: WARNING: \(file): \(nonFinite.count) array(s) hold NaN or Inf values: \(nonFinite.joined(separator: ", "))\n"
                        .utf8))
        }
    }

    func render(_ report: InspectionReport) -> String {
        var out = "\(report.file): \(report.format)\n"
        for key in report.attributes.keys.sorted() { out += "  \(key): \(report.attributes[key]!)\n" }
        if let optimizer = report.optimizer { out += "  optimizer: \(optimizer.line)\n" }
        let sections: [(WeightKind, String)] = [
            (.trainable, "Trainable weights"),
            (.nonTrainable, "Non-trainable weights (BatchNorm moving statistics)"),
            (.optimizer, "Optimizer state")
        ]
        for (kind, title) in sections {
            let total = report.totals[kind.rawValue]!
            guard total.arrays > 0 else { continue }
            out += "\n\(title): \(total.arrays) arrays, \(grouped(total.parameters)) values\n"
            for group in report.groups {
                let weights = group.weights.filter { $0.kind == kind }
                guard !weights.isEmpty else { continue }
                let layers = Set(weights.map(\.layer))
                let layerNote = layers.count == 1 && layers.first! != group.name ? "  (layer \(layers.first!))" : ""
                out += "  \(group.name)\(layerNote)\n"
                let width = weights.map(\.name.count).max()!
                for weight in weights {
                    let shape = "[\(weight.shape.map(String.init).joined(separator: ", "))]"
                    out +=
                        "    \(weight.name.padding(toLength: width, withPad: " ", startingAt: 0))  \(shape.padding(toLength: 16, withPad: " ", startingAt: 0)) \(weight.dtype.padding(toLength: 8, withPad: " ", startingAt: 0)) \(grouped(weight.parameters))\n"
                    if let stats = weight.stats {
                        out += "      " + statisticsLine(stats) + "\n"
                        if stats.hasNonFinite {
                            out += "      !!! \(weight.path) holds \(stats.nans) NaN and \(stats.infinities) Inf values !!!\n"
                        }
                    }
                }
            }
        }
        out += "\nTotals\n"
        for (kind, title) in [(WeightKind.trainable, "trainable"), (.nonTrainable, "non-trainable"), (.optimizer, "optimizer")] {
            let total = report.totals[kind.rawValue]!
            out +=
                "  \(title.padding(toLength: 14, withPad: " ", startingAt: 0)) \(grouped(total.parameters)) values in \(total.arrays) arrays\n"
        }
        if let nonFinite = report.nonFinite {
            out +=
                nonFinite.isEmpty
                ? "\nNo NaN or Inf values.\n"
                : "\n!!! \(nonFinite.count) array(s) hold NaN or Inf values: \(nonFinite.joined(separator: ", ")) !!!\n"
        }
        return out
    }
}

extension Inspect {
    /// `h5ls -r -v` in short: one line per group and dataset (shape, type), its attributes indented.
    func renderTree(_ tree: TreeListing) -> String {
        func shape(_ s: [Int]) -> String { s.isEmpty ? "scalar" : "{\(s.map(String.init).joined(separator: ", "))}" }
        var out = "\(file): HDF5, not a Keras weight file (\(tree.entries.count) objects)\n"
        for entry in tree.entries {
            switch entry.kind {
            case .group: out += "\(entry.path)  Group\n"
            case .dataset: out += "\(entry.path)  Dataset \(shape(entry.shape ?? [])) \(entry.dataType ?? "")\n"
            case .other: out += "\(entry.path)  Type or other object\n"
            }
            for attribute in entry.attributes {
                out +=
                    "    @\(attribute.name)  \(shape(attribute.shape)) \(attribute.dataType)\(attribute.value.map { " = \($0)" } ?? "")\n"
            }
        }
        if tree.truncated { out += "(stopped after \(TreeListing.maximumObjects) objects or \(TreeListing.maximumDepth) levels)\n" }
        return out
    }

    /// One object of the tree for `--json`.
    struct HDF5Entry: Encodable {
        let path: String, kind: String, shape: [Int]?, dtype: String?
        let attributes: [String: String]
        init(_ entry: TreeListing.Entry) {
            (path, kind, shape, dtype) = (entry.path, entry.kind.rawValue, entry.shape, entry.dataType)
            attributes = Dictionary(
                entry.attributes.map { ($0.name, $0.value ?? "\($0.dataType) \($0.shape)") }, uniquingKeysWith: { first, _ in first })
        }
    }
}

func statisticsLine(_ stats: WeightStatistics) -> String {
    func value(_ x: Double?) -> String { x.map { String(format: "%.6g", $0) } ?? "-" }
    return
        "min \(value(stats.min))  max \(value(stats.max))  mean \(value(stats.mean))  std \(value(stats.std))  zeros \(stats.zeros)  nan \(stats.nans)  inf \(stats.infinities)"
}

/// 1234567 → "1,234,567".
func grouped(_ number: Int) -> String {
    let digits = String(number.magnitude)
    var out = ""
    for (index, character) in digits.enumerated() {
        if index > 0, (digits.count - index) % 3 == 0 { out.append(",") }
        out.append(character)
    }
    return number < 0 ? "-" + out : out
}

/// Pretty, key-sorted JSON (non-finite numbers, which JSON cannot hold, as strings).
func jsonText<T: Encodable>(_ value: T) throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
    return String(decoding: try encoder.encode(value), as: UTF8.self)
}
