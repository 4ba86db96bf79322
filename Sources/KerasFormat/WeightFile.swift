import DenseNetEngine
import Foundation
import HDF5

/// An existing weight file and its format, told once from its contents.
///
/// Loading (`Model.loadWeights(from:)`), listing (`WeightListing.read`), config reading
/// (`KerasModelConfig(contentsOf:)`) and training checkpoints take this value, so a command opens
/// and detects its input once and passes the result on; an HDF5 file stays open in it for the
/// next reader.
///
/// ```swift
/// let input = try WeightFile("densenet121.h5")      // .tfKerasModel
/// let model = try KerasModelConfig(contentsOf: input).makeModel()
/// try model.loadWeights(from: input)
/// ```
public struct WeightFile {
    /// Where the file is, as given.
    public let path: String
    /// The format its contents have.
    public let format: WeightFileFormat
    /// The HDF5 file opened to tell the format (the `.h5` formats); nil for zip and safetensors files.
    public let hdf5: File?

    /// Tells the format of the file at `path` from its contents, never its name: the first bytes
    /// tell a zip (`.keras` archive) and a safetensors header; any other file is opened as HDF5
    /// (libhdf5 checks the signature, which a user block may move to byte 512, 1024, …) and told
    /// by its structure.
    public init(_ path: String) throws {
        self.path = path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw KerasFormatError(.io, file: path, found: "no such file")
        }
        guard !isDirectory.boolValue else { throw KerasFormatError(.io, file: path, found: "a directory, not a file") }
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
        guard size > 0 else { throw KerasFormatError(.unknownFormat, file: path, found: "an empty file (0 bytes)") }
        let head = Self.leadingBytes(of: path)
        if SafetensorsFile.looksLikeSafetensors(head) {
            let metadata = try SafetensorsFile.metadata(ofFileAt: path)
            (format, hdf5) = (metadata["format"] == PyTorchOptimizerState.formatName ? .torchOptimizer : .safetensors, nil)
        } else if Self.isZip(head) {
            (format, hdf5) = (Self.zipFormat(path), nil)
        } else {
            let file: File
            do { file = try File.open(path) } catch let error as HDF5Error {
                throw KerasFormatError(.unknownFormat, file: path, found: error.description)
            }
            guard let format = try Self.hdf5Format(of: file.root, path: path) else {
                throw KerasFormatError(
                    .unknownFormat, file: path,
                    expected:
                        "tf-keras weights (layer_names), a tf-keras model (model_weights), Keras 3 weights (vars groups) "
                        + "or a tf-keras optimizer file (optimizer_weights)",
                    found: "an HDF5 file with none of them")
            }
            (self.format, hdf5) = (format, file)
        }
    }

    /// The `.h5` format whose structure `root` has: a `layer_names` attribute (tf-keras weights), a
    /// `model_weights` group (tf-keras full model), a `vars` group (Keras 3 weights) or, alone, an
    /// `optimizer_weights` group (tf-keras optimizer file); nil for none.
    static func hdf5Format(of root: Group, path: String) throws -> WeightFileFormat? {
        do {
            if try root.attributes.contains("layer_names") || root.attributes.contains("layer_names0") { return .tfKerasWeights }
            if try root.contains("model_weights"), try root.kind(of: "model_weights") == .group { return .tfKerasModel }
            if try root.contains("vars"), try root.kind(of: "vars") == .group { return .keras3Weights }
            if try root.contains(TFKerasOptimizerWeights.groupName), try root.kind(of: TFKerasOptimizerWeights.groupName) == .group {
                return .tfKerasOptimizer
            }
            return nil
        } catch let error as HDF5Error {
            throw KerasFormatError(error, file: path)
        }
    }

    /// A torch.save checkpoint when its entries are torch's (or, unreadable, its name ends in `.pth`/`.pt`),
    /// else a `.keras` archive: the reader of either then says what is wrong with an unreadable one.
    private static func zipFormat(_ path: String) -> WeightFileFormat {
        guard let archive = try? ArchiveReader(path) else {
            return WeightFileFormat(fileName: path) == .pyTorchCheckpoint ? .pyTorchCheckpoint : .kerasArchive
        }
        return PyTorchCheckpoint.isCheckpoint(entryNames: archive.entryNames) ? .pyTorchCheckpoint : .kerasArchive
    }

    /// Every zip, and so every `.keras` archive, starts with a local file header, `PK\x03\x04`.
    private static func isZip(_ head: [UInt8]) -> Bool { head.starts(with: [0x50, 0x4B, 0x03, 0x04]) }

    /// The first bytes, enough for every signature the detector checks; fewer for a short or unreadable file.
    private static func leadingBytes(of path: String) -> [UInt8] {
        guard let handle = FileHandle(forReadingAtPath: path) else { return [] }
        defer { try? handle.close() }
        return [UInt8]((try? handle.read(upToCount: SafetensorsFile.signatureLength)) ?? Data())
    }
}

extension WeightFile {
    /// The optimizer state the file holds (nil when none), without loading weights: tf-keras
    /// `optimizer_weights` (with the optimizer of `training_config`), Keras 3 `optimizer/vars` (with
    /// the optimizer of the archive's `compile_config`).
    public func readOptimizer() throws -> StoredOptimizer? {
        switch format {
        case .safetensors, .tfKerasWeights, .pyTorchCheckpoint: return nil
        case .torchOptimizer: return try PyTorchOptimizerState.read(SafetensorsFile.read(path), path: path)
        case .kerasArchive: return try TFKerasModelFile.wrapHDF5(path) { try KerasArchive.Opened(path).optimizer() }
        case .tfKerasModel, .tfKerasOptimizer, .keras3Weights:
            let root = hdf5!.root
            return try TFKerasModelFile.wrapHDF5(path) {
                if let stored = try TFKerasOptimizerWeights.read(from: root, file: path) {
                    return stored.with(config: try TFKerasModelFile.optimizerConfig(of: root, file: path))
                }
                return try Keras3OptimizerVars.read(from: root, file: path)
            }
        }
    }
}

extension Model {
    /// Writes the weights (BatchNorm moving statistics included) to `path` in `format`, atomically,
    /// and `optimizer`'s configuration and state where the format holds them
    /// (`WeightFileFormat.holdsOptimizerState`; elsewhere they are left out — the caller says so).
    /// The optimizer-only format writes the optimizer alone and needs one.
    public func saveWeights(to path: String, format: WeightFileFormat, optimizer: TrainedOptimizer? = nil) throws {
        switch format {
        case .safetensors: try SafetensorsWeightsFormat.file(for: SafetensorsWeightLayout(model: self)).write(to: path)
        case .kerasArchive: try KerasArchive.write(self, optimizer: optimizer, to: path)
        case .tfKerasModel: try TFKerasModelFile.write(self, optimizer: optimizer, to: path)
        case .tfKerasWeights: try writeHDF5(to: path) { try TFKerasWeightsFormat.write(TFKerasWeightLayout(tree: $0), to: $1) }
        case .keras3Weights:
            try writeHDF5(to: path) { tree, root in
                try Keras3WeightsFormat.write(Keras3WeightLayout(tree: tree), to: root)
                if let optimizer { try Keras3OptimizerVars.write(optimizer, variables: trainableVariables, to: root) }
            }
        case .pyTorchCheckpoint:
            throw KerasFormatError(
                .wrongFormat, file: path, expected: "a format densenet-io writes (PyTorch's weights go to .safetensors)",
                found: "\(format.description), which it only reads")
        case .tfKerasOptimizer, .torchOptimizer:
            guard let optimizer else {
                throw KerasFormatError(.wrongFormat, file: path, expected: "optimizer state to write", found: "none (weights only)")
            }
            if format == .torchOptimizer {
                try PyTorchOptimizerState.file(for: optimizer, layout: SafetensorsWeightLayout(model: self), model: self, path: path).write(
                    to: path)
            } else {
                try writeHDF5(to: path) { _, root in try TFKerasOptimizerWeights.write(optimizer, model: self, to: root) }
            }
        }
    }

    private func writeHDF5(to path: String, _ body: (NamedLayerTree, Group) throws -> Void) throws {
        let tree = NamedLayerTree(model: root)
        try writeAtomically(to: path) { try body(tree, File.create($0).root) }
    }

    /// Loads weights from `path`, whatever its format (told from its contents); all or nothing.
    /// - Parameters:
    ///   - path: The weight file.
    ///   - byName: tf-keras files only: match layers by name instead of position.
    /// - Returns: the file's format.
    @discardableResult
    public func loadWeights(from path: String, byName: Bool = false) throws -> WeightFileFormat {
        let file = try WeightFile(path)
        try loadWeights(from: file, byName: byName)
        return file.format
    }

    /// Loads weights from an already detected `file`; all or nothing.
    /// - Parameters:
    ///   - file: The file, opened and told by `WeightFile(_:)`.
    ///   - byName: tf-keras files only: match layers by name instead of position.
    /// - Returns: the optimizer state the file holds (tf-keras full-model files, Keras 3 weights and
    ///   `.keras` archives of a compiled model), not yet matched to an optimizer
    ///   (`StoredOptimizer.resolved(for:variables:)`).
    @discardableResult
    public func loadWeights(from file: WeightFile, byName: Bool = false) throws -> StoredOptimizer? {
        let path = file.path
        switch file.format {
        case .safetensors:
            try SafetensorsWeightsFormat.load(SafetensorsWeightLayout(model: self), from: SafetensorsFile.read(path), path: path)
        case .pyTorchCheckpoint:
            try SafetensorsWeightsFormat.load(SafetensorsWeightLayout(model: self), from: PyTorchCheckpoint.read(path), path: path)
        case .kerasArchive: return try KerasArchive.loadWeights(path, into: self)
        case .tfKerasModel:
            return try TFKerasModelFile.loadWeights(TFKerasModelFile.fullModel(file.hdf5!.root, file: path), file: path, into: self)
        case .tfKerasWeights:
            // HDF5 then answers its groups, name lists and float32 weights from the mapped bytes where it can;
            // the model's layers are named while the file is mapped.
            let hdf5 = file.hdf5!
            let layout = try hdf5.mapIntoMemory { TFKerasWeightLayout(tree: NamedLayerTree(model: root)) }
            _ = try TFKerasModelFile.wrapHDF5(path) { try TFKerasWeightsFormat.load(layout, from: hdf5.root, file: path, byName: byName) }
        case .keras3Weights:
            try TFKerasModelFile.wrapHDF5(path) {
                try Keras3WeightsFormat.load(Keras3WeightLayout(tree: NamedLayerTree(model: root)), from: file.hdf5!.root, file: path)
            }
            return try file.readOptimizer()
        case .tfKerasOptimizer, .torchOptimizer:
            throw KerasFormatError(
                .wrongFormat, file: path, expected: "a weight file",
                found: "\(file.format.description), no weights (it goes beside its weights file: import WEIGHTS --optimizer FILE)")
        }
        return nil
    }
}
