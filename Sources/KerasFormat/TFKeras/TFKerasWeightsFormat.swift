import DenseNetEngine
import Foundation
import HDF5

/// tf-keras' legacy HDF5 weights: the file `model.save_weights("w.h5")` writes, and the
/// `model_weights` group of a full-model `.h5`.
///
/// Mirrors `save_weights_to_hdf5_group`, `load_weights_from_hdf5_group` (topological) and
/// `load_weights_from_hdf5_group_by_name` in `tf_keras/src/saving/legacy/hdf5_format.py`.
public enum TFKerasWeightsFormat {
    /// The tf-keras release whose files these mirror, written as `keras_version`.
    public static let kerasVersion = "2.21.0"
    /// The `backend` attribute tf-keras writes beside `keras_version`.
    public static let backend = "tensorflow"

    /// Writes every layer's weights into `group` (the file's root, or `model_weights`).
    public static func write(_ layout: TFKerasWeightLayout, to group: Group) throws {
        try NameListAttribute.write(layout.layers.map(\.name), named: "layer_names", to: group.attributes)
        try group.attributes.write(StringArray(scalar: backend, format: .variableASCII), named: "backend")
        try group.attributes.write(StringArray(scalar: kerasVersion, format: .variableASCII), named: "keras_version")
        for layer in layout.layers.sorted(by: { $0.name < $1.name }) {
            try writeWeights(layer.weights, to: group.createGroup(layer.name))
        }
        try writeWeights(layout.topLevelWeights, to: group.createGroup("top_level_model_weights"))
    }

    private static func writeWeights(_ weights: [TFKerasWeightLayout.Weight], to group: Group) throws {
        try NameListAttribute.write(weights.map(\.name), named: "weight_names", to: group.attributes)
        for weight in weights {
            let variable = weight.variable
            _ = try group.createDataset(weight.name, NDArray(shape: variable.shape, scalars: variable.values))
        }
    }

    /// Which layers of the model and of the file found no partner when loading by name.
    public struct LoadReport: Equatable {
        /// Layers with weights in the model whose name no file group has; their variables keep their values.
        public var modelLayersNotInFile: [String] = []
        /// Names in the file's `layer_names` that no model layer has; their groups are not read.
        public var fileLayersNotInModel: [String] = []
    }

    /// Loads `group` into the model's variables, all or nothing: every count, shape and type is
    /// checked, and every dataset located or read, before any variable changes.
    ///
    /// By default layers are matched by position among the layers that have weights (Keras'
    /// topological loading); `byName` matches them by name and skips unmatched layers, as
    /// `load_weights(by_name=True)` does — the report lists them. The layer groups and their weights
    /// are checked on all cores: in a mapped file (`File.mapIntoMemory`) HDF5 answers most of that
    /// from the file's bytes, and serialises what it must ask libhdf5.
    @discardableResult
    public static func load(
        _ layout: TFKerasWeightLayout, from group: Group, file: String,
        byName: Bool = false
    ) throws -> LoadReport {
        let reader = LayerReader(group: group, file: file)
        let fileLayers = try NameListAttribute.read("layer_names", from: group.attributes)
        guard try !fileLayers.isEmpty || group.attributes.contains("layer_names") else {
            throw KerasFormatError(
                .wrongFormat, file: file, expected: "a tf-keras weights group with a layer_names attribute",
                found: "none at \(group.path)")
        }
        var matched: [(TFKerasWeightLayout.LayerEntry, LayerReader.SavedLayer)] = []
        var report = LoadReport()
        if byName {
            let modelLayers = Dictionary(layout.layers.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
            let names = fileLayers.filter { modelLayers[$0] != nil }
            report.fileLayersNotInModel = fileLayers.filter { modelLayers[$0] == nil }
            matched = Array(zip(names.map { modelLayers[$0]! }, try Concurrently.map(names, reader.savedLayer)))
            let saved = Set(fileLayers)
            report.modelLayersNotInFile = layout.layers.filter { !$0.weights.isEmpty && !saved.contains($0.name) }.map(\.name)
        } else {
            let modelLayers = layout.layers.filter { !$0.weights.isEmpty }
            let savedLayers = try Concurrently.map(fileLayers, reader.savedLayer).filter { !$0.weightNames.isEmpty }
            guard modelLayers.count == savedLayers.count else {
                throw KerasFormatError(
                    .layerCountMismatch, file: file,
                    expected: "\(modelLayers.count) layers with weights (\(abbreviated(modelLayers.map(\.name))))",
                    found: "\(savedLayers.count) (\(abbreviated(savedLayers.map(\.name))))")
            }
            matched = Array(zip(modelLayers, savedLayers))
        }
        if try group.contains("top_level_model_weights") {
            let topLevel = TFKerasWeightLayout.LayerEntry(name: "top_level_model_weights", weights: layout.topLevelWeights)
            matched.append((topLevel, try reader.savedLayer("top_level_model_weights")))
        }
        // All or nothing: every weight is checked and located (or read) before any variable changes.
        let sources = try Concurrently.map(matched, reader.sources).flatMap { $0 }
        // Copying tens of MB from the mapping is most of a load: one variable per iteration, each
        // written by one thread only. The sizes were checked with the shapes.
        Concurrently.forEach(sources.count) { index in
            let (variable, bytes) = sources[index]
            bytes.withUnsafeBytes { try! variable.setValues(bytes: $0) }
        }
        // A file another process truncated meanwhile read as zeros past its new end: an error, not SIGBUS
        // (the variables then hold those zeros: the one case that is not all or nothing).
        do { try group.file.checkMappedBytes() } catch let error as HDF5Error { throw KerasFormatError(error, file: file) }
        return report
    }
}

/// The first few of `names` and how many more: a message stays one readable line for a model of 600 layers.
func abbreviated(_ names: [String], shown: Int = 3) -> String {
    names.prefix(shown).joined(separator: ", ") + (names.count > shown ? ", … \(names.count - shown) more" : "")
}

/// Reads the layer groups of a tf-keras weights file, checking them against the model's layers.
private struct LayerReader {
    /// One layer group of the file with its `weight_names`.
    struct SavedLayer {
        let name: String
        let group: Group
        let weightNames: [String]
    }

    let group: Group
    let file: String

    /// The layer group `name` listed in `layer_names`, with its `weight_names`.
    func savedLayer(_ name: String) throws -> SavedLayer {
        let layerGroup: Group
        do {
            layerGroup = try group.group(name)
        } catch {
            guard try group.contains(name), try group.kind(of: name) == .group else {
                throw KerasFormatError(
                    .missingLayer, file: file, layer: name,
                    expected: "a group /\(name) listed in layer_names", found: "no such group")
            }
            throw error
        }
        return SavedLayer(
            name: name, group: layerGroup,
            weightNames: try NameListAttribute.read("weight_names", from: layerGroup.attributes))
    }

    /// Each weight of `layer` with its values from `saved`, in the layer's order, after checking each
    /// dataset's presence, shape and type: a slice of the mapped file when HDF5 finds the dataset
    /// there, else read through libhdf5.
    func sources(of layer: TFKerasWeightLayout.LayerEntry, in saved: SavedLayer) throws -> [(Variable, Data)] {
        let names = saved.weightNames
        let layerLabel = saved.name == layer.name ? layer.name : "\(layer.name) (saved as \(saved.name))"
        guard names.count == layer.weights.count else {
            throw KerasFormatError(
                .weightCountMismatch, file: file, layer: layerLabel,
                expected: "\(layer.weights.count) weights (\(layer.weights.map(\.name).joined(separator: ", ")))",
                found: "\(names.count) (\(names.joined(separator: ", ")))")
        }
        return try zip(layer.weights, names).map { weight, name in
            let variable = weight.variable
            let dataset: Dataset
            do {
                dataset = try saved.group.dataset(name)
            } catch let error as HDF5Error where error.reason == .notFound {
                throw KerasFormatError(
                    .malformed, file: file, layer: layerLabel, weight: name,
                    expected: "a dataset named in weight_names", found: "none")
            }
            let shape = try dataset.shape()
            guard shape == variable.shape else {
                throw KerasFormatError(
                    .shapeMismatch, file: file, layer: layerLabel, weight: name,
                    expected: "\(variable.shape)", found: "\(shape)")
            }
            do {
                return (variable, try dataset.readFloat32Bytes())
            } catch let error as HDF5Error {
                guard case .typeMismatch(_, let found) = error.reason else { throw error }
                throw KerasFormatError(
                    .dataTypeMismatch, file: file, layer: layerLabel, weight: name,
                    expected: "float32", found: "\(found)")
            }
        }
    }
}
