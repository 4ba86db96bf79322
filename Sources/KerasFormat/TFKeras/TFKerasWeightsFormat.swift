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
        public var modelLayersNotInFile: [String] = []
        public var fileLayersNotInModel: [String] = []
    }

    /// Loads `group` into the model's variables, all or nothing: every count, shape and type is
    /// checked, and every dataset read, before any variable changes.
    ///
    /// By default layers are matched by position among the layers that have weights (Keras'
    /// topological loading); `byName` matches them by name and skips unmatched layers, as
    /// `load_weights(by_name=True)` does — the report lists them.
    @discardableResult
    public static func load(_ layout: TFKerasWeightLayout, from group: Group, file: String,
                            byName: Bool = false) throws -> LoadReport {
        // The file's bytes answer what they can (`StoredGroup`: no libhdf5 object opened), libhdf5 the rest.
        let stored = group.stored
        let reader = GroupReader(group: group, stored: stored, file: file)
        let fileLayers = try stored.flatMap { NameListAttribute.read("layer_names", from: $0) }
            ?? NameListAttribute.read("layer_names", from: group.attributes)
        guard try !fileLayers.isEmpty || group.attributes.contains("layer_names") else {
            throw KerasFormatError(.wrongFormat, file: file, expected: "a tf-keras weights group with a layer_names attribute",
                                   found: "none at \(group.path)")
        }
        var matched: [(TFKerasWeightLayout.LayerEntry, GroupReader.SavedLayer)] = []
        var report = LoadReport()
        if byName {
            let modelLayers = Dictionary(layout.layers.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
            let names = fileLayers.filter { modelLayers[$0] != nil }
            report.fileLayersNotInModel = fileLayers.filter { modelLayers[$0] == nil }
            matched = Array(zip(names.map { modelLayers[$0]! }, try reader.savedLayers(names)))
            let saved = Set(fileLayers)
            report.modelLayersNotInFile = layout.layers.filter { !$0.weights.isEmpty && !saved.contains($0.name) }.map(\.name)
        } else {
            let modelLayers = layout.layers.filter { !$0.weights.isEmpty }
            let savedLayers = try reader.savedLayers(fileLayers).filter { !$0.weightNames.isEmpty }
            guard modelLayers.count == savedLayers.count else {
                throw KerasFormatError(.layerCountMismatch, file: file,
                                       expected: "\(modelLayers.count) layers with weights (\(modelLayers.map(\.name).joined(separator: ", ")))",
                                       found: "\(savedLayers.count) (\(savedLayers.map(\.name).joined(separator: ", ")))")
            }
            matched = Array(zip(modelLayers, savedLayers))
        }
        if try stored?.childNames()?.contains("top_level_model_weights") ?? group.contains("top_level_model_weights") {
            let topLevel = TFKerasWeightLayout.LayerEntry(name: "top_level_model_weights", weights: layout.topLevelWeights)
            matched.append((topLevel, try reader.savedLayer("top_level_model_weights")))
        }
        // All or nothing: every weight is checked and located (or read) before any variable changes.
        let sources = try reader.sources(of: matched)
        VariableCopies(sources).run()
        return report
    }
}

/// Reads the layer groups of a tf-keras weights file, checking them against the model's layers.
private struct GroupReader {
    /// One layer group of the file with its `weight_names`: found in the file's bytes, or opened once
    /// through libhdf5 (when those cannot answer, or only once a weight needs it).
    struct SavedLayer {
        let name: String
        let stored: StoredGroup?
        let group: Group?
        let weightNames: [String]
    }

    let group: Group
    let stored: StoredGroup?
    let file: String

    /// The layer groups `names`, found in the file's bytes on all cores; libhdf5 (not thread-safe)
    /// opens the ones those cannot answer, on this thread.
    func savedLayers(_ names: [String]) throws -> [SavedLayer] {
        let found = concurrentMap(names, storedLayer)
        return try zip(names, found).map { name, found in try found ?? openedLayer(name) }
    }

    /// Each weight of the `matched` layers with its values, checked as `sources(of:in:)` does; the
    /// layers whose weights are all plain float32 datasets in the file's bytes are checked on all cores.
    func sources(of matched: [(TFKerasWeightLayout.LayerEntry, SavedLayer)]) throws -> [(Variable, Data)] {
        let found = concurrentMap(matched) { layer, saved in storedSources(of: layer, in: saved) }
        return try zip(matched, found).flatMap { pair, found in try found ?? sources(of: pair.0, in: pair.1) }
    }

    private func storedLayer(_ name: String) -> SavedLayer? {
        guard let storedLayer = stored?.group(name),
              let weightNames = NameListAttribute.read("weight_names", from: storedLayer) else { return nil }
        return SavedLayer(name: name, stored: storedLayer, group: nil, weightNames: weightNames)
    }

    /// The weights of `layer`, when every one is a float32 dataset of the right shape in the file's
    /// bytes; nil when anything needs libhdf5 or an error message (`sources(of:in:)` then decides).
    private func storedSources(of layer: TFKerasWeightLayout.LayerEntry, in saved: SavedLayer) -> [(Variable, Data)]? {
        guard let stored = saved.stored, saved.weightNames.count == layer.weights.count else { return nil }
        var sources: [(Variable, Data)] = []
        for (weight, name) in zip(layer.weights, saved.weightNames) {
            guard let array = stored.float32Array(name), array.shape == weight.variable.shape else { return nil }
            sources.append((weight.variable, array.bytes))
        }
        return sources
    }

    func savedLayer(_ name: String) throws -> SavedLayer {
        try storedLayer(name) ?? openedLayer(name)
    }

    /// The layer group `name` opened through libhdf5, for what the file's bytes cannot answer.
    private func openedLayer(_ name: String) throws -> SavedLayer {
        let storedLayer = stored?.group(name)
        let layerGroup = try openLayer(name)
        return SavedLayer(name: name, stored: storedLayer, group: layerGroup,
                          weightNames: try NameListAttribute.read("weight_names", from: layerGroup.attributes))
    }

    private func openLayer(_ name: String) throws -> Group {
        do {
            return try group.group(name)
        } catch {
            guard try group.contains(name), try group.kind(of: name) == .group else {
                throw KerasFormatError(.missingLayer, file: file, layer: name,
                                       expected: "a group /\(name) listed in layer_names", found: "no such group")
            }
            throw error
        }
    }

    /// Each weight of `layer` with its values from `saved`, in the layer's order, after checking each
    /// dataset's presence, shape and type: a slice of the file's bytes when the file was read into memory
    /// and the dataset is plain float32 (no libhdf5 open), else read through libhdf5.
    func sources(of layer: TFKerasWeightLayout.LayerEntry, in saved: SavedLayer) throws -> [(Variable, Data)] {
        let names = saved.weightNames
        let layerLabel = saved.name == layer.name ? layer.name : "\(layer.name) (saved as \(saved.name))"
        guard names.count == layer.weights.count else {
            throw KerasFormatError(.weightCountMismatch, file: file, layer: layerLabel,
                                   expected: "\(layer.weights.count) weights (\(layer.weights.map(\.name).joined(separator: ", ")))",
                                   found: "\(names.count) (\(names.joined(separator: ", ")))")
        }
        var layerGroup = saved.group
        return try zip(layer.weights, names).map { weight, name in
            let variable = weight.variable
            func checkShape(_ shape: [Int]) throws {
                guard shape == variable.shape else {
                    throw KerasFormatError(.shapeMismatch, file: file, layer: layerLabel, weight: name,
                                           expected: "\(variable.shape)", found: "\(shape)")
                }
            }
            if let stored = saved.stored?.float32Array(name) {
                try checkShape(stored.shape)
                return (variable, stored.bytes)
            }
            let dataset: Dataset
            do {
                if layerGroup == nil { layerGroup = try openLayer(saved.name) }
                dataset = try layerGroup!.dataset(name)
            } catch let error as HDF5Error where error.reason == .notFound {
                throw KerasFormatError(.malformed, file: file, layer: layerLabel, weight: name,
                                       expected: "a dataset named in weight_names", found: "none")
            }
            try checkShape(dataset.shape())
            var bytes = Data(count: variable.count * MemoryLayout<Float>.size)
            do {
                try bytes.withUnsafeMutableBytes { try dataset.read(into: $0.bindMemory(to: Float.self)) }
            } catch let error as HDF5Error {
                guard case .typeMismatch(_, let found) = error.reason else { throw error }
                throw KerasFormatError(.dataTypeMismatch, file: file, layer: layerLabel, weight: name,
                                       expected: "float32", found: "\(found)")
            }
            return (variable, bytes)
        }
    }
}

/// The copies of checked weights into their variables, spread over the cores: with the file's mapping,
/// copying tens of MB is most of a load. One variable per iteration, taken by whichever thread is
/// free (a thread the OS delays leaves the rest to the others); each writes only its own variable.
private struct VariableCopies: @unchecked Sendable {
    let sources: [(Variable, Data)]

    init(_ sources: [(Variable, Data)]) {
        self.sources = sources
    }

    func run() {
        DispatchQueue.concurrentPerform(iterations: sources.count) { index in
            let (variable, bytes) = sources[index]
            // The sizes were checked with the shapes.
            bytes.withUnsafeBytes { try! variable.setValues(bytes: $0) }
        }
    }
}

/// `transform` of each element, computed on all cores, in order. Only for work that reads the
/// file's bytes: libhdf5 is not thread-safe.
private func concurrentMap<Element, Result>(_ elements: [Element], _ transform: (Element) -> Result?) -> [Result?] {
    let results = UnsafeMutableBufferPointer<Result?>.allocate(capacity: elements.count)
    results.initialize(repeating: nil)
    defer { results.deinitialize().deallocate() }
    withoutActuallyEscaping(transform) { transform in
        let work = UncheckedWork { index in results[index] = transform(elements[index]) }
        DispatchQueue.concurrentPerform(iterations: elements.count) { work.run($0) }
    }
    return Array(results)
}

/// A closure each thread of `concurrentPerform` runs for its own indices.
private struct UncheckedWork: @unchecked Sendable {
    let run: (Int) -> Void
}
