import DenseNetEngine
import Foundation
import ReadLimits

/// A model's weights as a safetensors file for PyTorch (see `SafetensorsWeightLayout` for names
/// and layouts).
///
/// `__metadata__` holds `format: pt` (as `safetensors.torch.save_file` writes) and
/// `densenet_io.keras`: a JSON object giving, for each tensor, its Keras origin
/// `{"layer", "weight", "index", "shape", "view", "axes"}` — enough to undo the layout change
/// without a model and to compare the file with Keras files weight by weight.
public enum SafetensorsWeightsFormat {
    /// The `__metadata__` key holding every tensor's Keras origin, as JSON.
    public static let provenanceKey = "densenet_io.keras"

    /// One tensor's Keras origin, as stored in the metadata.
    public struct Provenance: Codable, Equatable, Sendable {
        /// The owning layer's unique Keras name.
        public var layer: String
        /// The variable's Keras name, e.g. `kernel`.
        public var weight: String
        /// The variable's position among its layer's variables (Keras 3's `vars/<index>`).
        public var index: Int
        /// The Keras shape.
        public var shape: [Int]
        /// `Transform.view`.
        public var view: [Int]
        /// `Transform.axes`.
        public var axes: [Int]

        /// The recorded layout change, to undo with `Transform.invert`.
        public var transform: SafetensorsWeightLayout.Transform { .init(view: view, axes: axes) }
    }

    /// The file's tensors and metadata for `layout`.
    public static func file(for layout: SafetensorsWeightLayout) throws -> SafetensorsFile {
        var file = SafetensorsFile()
        var provenance: [String: Provenance] = [:]
        for entry in layout.entries {
            file.tensors[entry.name] = .init(shape: entry.torchShape, floats: entry.transform.apply(entry.variable.values))
            provenance[entry.name] = Provenance(
                layer: entry.kerasLayer, weight: entry.kerasWeight, index: entry.kerasIndex,
                shape: entry.variable.shape, view: entry.transform.view, axes: entry.transform.axes)
        }
        for name in layout.counterNames {
            file.tensors[name] = .init(dtype: .i64, shape: [], bytes: [UInt8](repeating: 0, count: 8))
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        file.metadata = ["format": "pt", provenanceKey: String(decoding: try encoder.encode(provenance), as: UTF8.self)]
        return file
    }

    /// The Keras origins recorded in a file's metadata (empty when it has none, e.g. written by PyTorch).
    /// Each origin is checked against its tensor: `axes` a permutation of the view's dimensions, and
    /// view, Keras shape and tensor holding the same number of elements.
    public static func provenance(of file: SafetensorsFile, path: String) throws -> [String: Provenance] {
        guard let text = file.metadata[provenanceKey] else { return [:] }
        let provenance: [String: Provenance]
        do {
            provenance = try JSONDecoder().decode([String: Provenance].self, from: Data(text.utf8))
        } catch {
            throw KerasFormatError(.malformed, file: path, expected: "\(provenanceKey) metadata as JSON", found: "\(error)")
        }
        for (name, origin) in provenance {
            let elements = file.tensors[name].flatMap { ReadLimits.product($0.shape) }
            guard origin.axes.sorted() == Array(origin.view.indices),
                let elements, ReadLimits.product(origin.view) == elements, ReadLimits.product(origin.shape) == elements
            else {
                throw KerasFormatError(
                    .malformed, file: path, layer: origin.layer, weight: name,
                    expected: "\(provenanceKey) axes permuting the view's dimensions and as many elements as the tensor",
                    found: "shape \(origin.shape), view \(origin.view), axes \(origin.axes) for tensor shape "
                        + "\(file.tensors[name].map { "\($0.shape)" } ?? "(no such tensor)")")
            }
        }
        return provenance
    }

    /// Loads a safetensors file into the model, all or nothing: every tensor of the layout present
    /// as float32 of PyTorch's shape, no tensors the model lacks (`num_batches_tracked` excepted).
    public static func load(_ layout: SafetensorsWeightLayout, from file: SafetensorsFile, path: String) throws {
        var assignments: [(Variable, [Float])] = []
        for entry in layout.entries {
            let weight = "\(entry.name) (Keras \(entry.kerasWeight))"
            guard let tensor = file.tensors[entry.name] else {
                throw KerasFormatError(
                    .missingLayer, file: path, layer: entry.kerasLayer, weight: weight,
                    expected: "tensor \(entry.name)", found: "none")
            }
            guard tensor.shape == entry.torchShape else {
                throw KerasFormatError(
                    .shapeMismatch, file: path, layer: entry.kerasLayer, weight: weight,
                    expected: "\(entry.torchShape)", found: "\(tensor.shape)")
            }
            guard let values = tensor.floats else {
                throw KerasFormatError(
                    .dataTypeMismatch, file: path, layer: entry.kerasLayer, weight: weight,
                    expected: "F32", found: tensor.dtype.rawValue)
            }
            assignments.append((entry.variable, entry.transform.invert(values)))
        }
        let known = Set(layout.entries.map(\.name)).union(layout.counterNames)
        if let extra = file.tensors.keys.sorted().first(where: { !known.contains($0) }) {
            throw KerasFormatError(
                .extraLayer, file: path, weight: extra,
                expected: "only the model's \(layout.entries.count) tensors", found: "\(extra) as well")
        }
        for (variable, values) in assignments { try variable.setValues(values) }
    }
}
