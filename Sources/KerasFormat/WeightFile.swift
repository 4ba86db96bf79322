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

    /// The format a new file gets from its name: `.weights.h5` is Keras 3, any other `.h5` tf-keras.
    public init?(fileName: String) {
        if fileName.hasSuffix(".safetensors") {
            self = .safetensors
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
        guard FileManager.default.fileExists(atPath: path) else {
            throw KerasFormatError(.io, file: path, found: "no such file")
        }
        if SafetensorsFile.looksLikeSafetensors(path) { return .safetensors }
        let root: Group
        do {
            root = try File.open(path).root
        } catch let error as HDF5Error {
            throw KerasFormatError(.unknownFormat, file: path, found: error.description)
        }
        if try root.attributes.contains("layer_names") || root.attributes.contains("layer_names0") { return .keras2 }
        if try root.contains("vars"), try root.kind(of: "vars") == .group { return .keras3 }
        throw KerasFormatError(.unknownFormat, file: path, expected: "tf-keras weights (layer_names) or Keras 3 weights (vars groups)",
                               found: "an HDF5 file with neither")
    }
}

extension Model {
    /// Writes the weights (BatchNorm moving statistics included) to `path` in `format`, atomically.
    public func saveWeights(to path: String, format: WeightFileFormat) throws {
        if format == .safetensors {
            try SafetensorsWeightsFormat.file(for: SafetensorsWeightLayout(model: self)).write(to: path)
            return
        }
        let tree = NamedLayerTree(model: root)
        try writeAtomically(to: path) { temporary in
            let file = try File.create(temporary)
            switch format {
            case .keras2: try LegacyWeightsFormat.write(LegacyWeightLayout(tree: tree), to: file.root)
            case .keras3: try Keras3WeightsFormat.write(Keras3WeightLayout(tree: tree), to: file.root)
            case .safetensors: break
            }
        }
    }

    /// Loads weights from `path`, whatever its format; all or nothing.
    /// - Parameter byName: tf-keras files only: match layers by name instead of position.
    @discardableResult
    public func loadWeights(from path: String, byName: Bool = false) throws -> WeightFileFormat {
        let format = try WeightFileFormat.detect(path)
        if format == .safetensors {
            try SafetensorsWeightsFormat.load(SafetensorsWeightLayout(model: self), from: SafetensorsFile.read(path), path: path)
            return format
        }
        let tree = NamedLayerTree(model: root)
        let root = try File.open(path).root
        switch format {
        case .keras2: try LegacyWeightsFormat.load(LegacyWeightLayout(tree: tree), from: root, file: path, byName: byName)
        case .keras3: try Keras3WeightsFormat.load(Keras3WeightLayout(tree: tree), from: root, file: path)
        case .safetensors: break
        }
        return format
    }
}
