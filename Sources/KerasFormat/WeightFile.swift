import DenseNetEngine
import Foundation
import HDF5

/// The file formats a model's weights go to and come from.
public enum WeightFileFormat: String, CaseIterable, Sendable {
    /// tf-keras legacy HDF5 weights (`model.save_weights("w.h5")`).
    case keras2
    /// Keras 3 weights (`model.save_weights("w.weights.h5")`).
    case keras3
    /// safetensors for PyTorch (`SafetensorsWeightsFormat`): torchvision names and layouts.
    case safetensors
    /// Keras 3 `.keras` archive (`KerasArchive`): config.json, metadata.json, model.weights.h5.
    case keras
    /// tf-keras full-model `.h5` (`Checkpoint`, `model.save("m.h5")`): model_config and model_weights.
    case checkpoint

    /// The format a new file gets from its name: `.weights.h5` is Keras 3, any other `.h5` tf-keras.
    public init?(fileName: String) {
        if fileName.hasSuffix(".safetensors") {
            self = .safetensors
        } else if fileName.hasSuffix(".keras") {
            self = .keras
        } else if fileName.hasSuffix(".weights.h5") {
            self = .keras3
        } else if fileName.hasSuffix(".h5") || fileName.hasSuffix(".hdf5") {
            self = .keras2
        } else {
            return nil
        }
    }

    /// The format of an existing file, told from its contents, not its name.
    public static func detect(_ path: String) throws -> WeightFileFormat {
        try detectOpening(path).format
    }

    /// The format of an existing file, and for HDF5 files the file as opened to tell, so loading
    /// need not open it again.
    static func detectOpening(_ path: String) throws -> (format: WeightFileFormat, file: File?) {
        guard FileManager.default.fileExists(atPath: path) else {
            throw KerasFormatError(.io, file: path, found: "no such file")
        }
        if SafetensorsFile.looksLikeSafetensors(path) { return (.safetensors, nil) }
        if CheckpointFile.isArchive(contentsOf: path) { return (.keras, nil) }
        let file: File
        do {
            file = try File.open(path)
        } catch let error as HDF5Error {
            throw KerasFormatError(.unknownFormat, file: path, found: error.description)
        }
        let root = file.root
        if try root.attributes.contains("layer_names") || root.attributes.contains("layer_names0") { return (.keras2, file) }
        if try root.contains("vars"), try root.kind(of: "vars") == .group { return (.keras3, file) }
        if try root.contains("model_weights"), try root.kind(of: "model_weights") == .group { return (.checkpoint, file) }
        throw KerasFormatError(.unknownFormat, file: path, expected: "tf-keras weights (layer_names) or Keras 3 weights (vars groups)",
                               found: "an HDF5 file with neither")
    }
}

extension Model {
    /// Writes the weights (BatchNorm moving statistics included) to `path` in `format`, atomically.
    public func saveWeights(to path: String, format: WeightFileFormat) throws {
        switch format {
        case .safetensors: try SafetensorsWeightsFormat.file(for: SafetensorsWeightLayout(model: self)).write(to: path)
        case .keras: try KerasArchive.write(self, to: path)
        case .checkpoint: try Checkpoint.writeModel(self, to: path)
        case .keras2: try writeHDF5(to: path) { try LegacyWeightsFormat.write(LegacyWeightLayout(tree: $0), to: $1) }
        case .keras3: try writeHDF5(to: path) { try Keras3WeightsFormat.write(Keras3WeightLayout(tree: $0), to: $1) }
        }
    }

    private func writeHDF5(to path: String, _ body: (NamedLayerTree, Group) throws -> Void) throws {
        let tree = NamedLayerTree(model: root)
        try writeAtomically(to: path) { try body(tree, File.create($0).root) }
    }

    /// Loads weights from `path`, whatever its format; all or nothing.
    /// - Parameter byName: tf-keras files only: match layers by name instead of position.
    @discardableResult
    public func loadWeights(from path: String, byName: Bool = false) throws -> WeightFileFormat {
        try loadWeightsAndOptimizer(from: path, byName: byName).format
    }

    /// Loads weights from `path`, and returns Adam's configuration and state when the file holds
    /// them (tf-keras full-model files and `.keras` archives of a compiled model).
    public func loadWeightsAndOptimizer(from path: String, byName: Bool = false) throws
        -> (format: WeightFileFormat, optimizer: (config: AdamConfig, state: AdamState)?) {
        let (format, file) = try WeightFileFormat.detectOpening(path)
        switch format {
        case .safetensors:
            try SafetensorsWeightsFormat.load(SafetensorsWeightLayout(model: self), from: SafetensorsFile.read(path), path: path)
        case .keras: return (format, try KerasArchive.loadWeights(path, into: self))
        case .checkpoint: return (format, try Checkpoint.loadKeras(path, into: self))
        case .keras2:
            // HDF5 then answers its groups, name lists and float32 weights from the mapped bytes where it can;
            // the model's layers are named while the file is mapped.
            let layout = try file!.mapIntoMemory { LegacyWeightLayout(tree: NamedLayerTree(model: root)) }
            try LegacyWeightsFormat.load(layout, from: file!.root, file: path, byName: byName)
        case .keras3: try Keras3WeightsFormat.load(Keras3WeightLayout(tree: NamedLayerTree(model: root)), from: file!.root, file: path)
        }
        return (format, nil)
    }
}
