import Foundation
import HDF5

/// Whether a stored array is a trainable weight, a non-trainable one (BatchNorm moving
/// statistics, PyTorch's running statistics and batch counters) or optimizer state.
public enum WeightKind: String, Codable, Sendable, CaseIterable {
    /// Updated by the optimizer (kernels, biases, gamma, beta).
    case trainable
    /// Stored with the model but not trained: moving statistics, batch counters.
    case nonTrainable = "non-trainable"
    /// The optimizer's iteration count, learning rate and slots.
    case optimizer
}

/// Which naming family a file's paths belong to; files of one family compare by stored path.
public enum NamingFamily: String, Codable, Sendable {
    /// tf-keras `.h5` (weights and full models), Keras 3 `.weights.h5` and `.keras`, or safetensors.
    case tfKeras = "tf-keras", keras3 = "keras3", safetensors
}

/// One array stored in a weight file, found by walking the file as stored — no model needed.
public struct StoredWeight: Sendable {
    /// Where the array is in the file: an HDF5 path below the weights root (`conv2d/dense_net/conv2d/
    /// kernel:0`, `dl1/layers/dense_unit/bn/vars/0`, `optimizer/vars/3`) or a safetensors tensor name.
    public let path: String
    /// The display group: the tf-keras layer group, the Keras 3 object path, the PyTorch module.
    public let group: String
    /// The weight's name within its group (tf-keras: the full weight name).
    public let label: String
    /// The owning layer's unique Keras name (tf-keras: the scope component before the variable
    /// name, or the whole layer name for functional models; Keras 3: the vars group's `name`
    /// attribute; safetensors: the recorded Keras layer, else the PyTorch module).
    public let layer: String
    /// The variable's name when the file tells it (or it is inferred), e.g. `gamma`.
    public let weight: String
    /// The position among the owning layer's variables.
    public let index: Int
    /// The shape as stored (PyTorch's layout in safetensors, e.g. OIHW conv kernels).
    public let shape: [Int]
    /// The element type in NumPy's name, e.g. `float32`.
    public let dataType: String
    /// Trainable, non-trainable or optimizer state.
    public let kind: WeightKind
    /// safetensors with densenet-io metadata: how the Keras array was laid out for PyTorch.
    public let transform: SafetensorsWeightLayout.Transform?
    let reader: @Sendable () throws -> [Double]

    /// The number of elements, the product of `shape`.
    public var parameterCount: Int { shape.reduce(1, *) }

    /// The elements, converted to Double (exact for float32 and float16), in stored order.
    public func values() throws -> [Double] { try reader() }

    /// The elements in Keras' layout (safetensors tensors with recorded provenance un-permuted).
    public func kerasValues() throws -> [Double] {
        let values = try reader()
        return transform.map { $0.invert(values) } ?? values
    }

    /// The shape in Keras' layout.
    public var kerasShape: [Int] { recordedKerasShape ?? shape }

    /// Whether the array exists only on the PyTorch side (`num_batches_tracked`).
    public var isPyTorchOnly: Bool { path.hasSuffix("num_batches_tracked") && transform == nil }

    /// The key that identifies this weight across naming families: the owning layer's name with
    /// `/` read as `_` (tf-keras functional names `conv1/conv` are Keras 3's `conv1_conv`) and the
    /// variable's position in that layer. Optimizer state is identified by its place in Keras'
    /// `optimizer.variables`, which both generations order alike: the iteration count, then slot 0,
    /// 1, … (Keras 3's learning-rate variable has no tf-keras counterpart). nil for PyTorch-only counters.
    public var crossFormatIdentity: String? {
        // torch.optim's state is keyed by parameter name; it has no place in Keras' variable list.
        guard !isPyTorchOnly, !(kind == .optimizer && transform != nil) else { return nil }
        guard kind == .optimizer else { return "\(layer.replacingOccurrences(of: "/", with: "_"))#\(index)" }
        let keras3 = path.hasPrefix(Keras3OptimizerVars.path)
        switch (index, keras3) {
        case (0, _): return "optimizer#iterations"
        case (1, true): return "optimizer#learning_rate"
        default: return "optimizer#slot\(index - (keras3 ? 2 : 1))"
        }
    }

    /// The Keras shape recorded in safetensors metadata.
    var recordedKerasShape: [Int]? = nil
}

/// A weight file's format, root attributes and stored arrays, as found in the file.
public struct WeightListing: Sendable {
    /// The file's path, as given.
    public let path: String
    /// The format detected from the file's contents.
    public let format: WeightFileFormat
    /// Root attributes (tf-keras `keras_version`, `backend`; `.keras` metadata.json entries;
    /// safetensors `__metadata__` entries), as text, in name order.
    public let attributes: [(name: String, value: String)]
    /// Every stored array, in the order the file is walked.
    public let weights: [StoredWeight]

    /// Reads the file's structure (not its values), detecting the format from the contents.
    public static func read(_ path: String) throws -> WeightListing {
        try read(WeightFile(path))
    }

    /// Reads the structure (not the values) of an already detected file.
    public static func read(_ file: WeightFile) throws -> WeightListing {
        switch file.format {
        case .safetensors, .torchOptimizer: try readSafetensors(SafetensorsFile.read(file.path), path: file.path, format: file.format)
        case .pyTorchCheckpoint: try readSafetensors(PyTorchCheckpoint.read(file.path), path: file.path, format: file.format)
        case .kerasArchive: try readArchive(file.path)
        case .tfKerasWeights, .tfKerasModel, .keras3Weights, .tfKerasOptimizer:
            try readHDF5(mapped(file.hdf5!, path: file.path).root, format: file.format, path: file.path, archiveAttributes: nil)
        }
    }

    // MARK: HDF5

    /// The listing of an `.h5` file of `format`, or of a `.keras` archive's `model.weights.h5` (with
    /// `archiveAttributes`, from metadata.json).
    private static func readHDF5(
        _ root: Group, format: WeightFileFormat, path: String,
        archiveAttributes: [(String, String)]?
    ) throws -> WeightListing {
        do {
            let attributes = try archiveAttributes ?? textAttributes(root.attributes)
            switch format {
            case .tfKerasWeights:
                return WeightListing(
                    path: path, format: format, attributes: attributes,
                    weights: try tfKerasWeights(root, prefix: "", path: path))
            case .tfKerasModel:
                var weights = try tfKerasWeights(root.group("model_weights"), prefix: "", path: path)
                if try root.contains("optimizer_weights") {
                    weights += try tfKerasOptimizer(root.group("optimizer_weights"), path: path)
                }
                return WeightListing(
                    path: path, format: format,
                    attributes: attributes.filter { !["model_config", "training_config"].contains($0.0) }
                        + attributes.filter { ["model_config", "training_config"].contains($0.0) }.map {
                            ($0.0, "(\($0.1.utf8.count) bytes of JSON)")
                        },
                    weights: weights)
            case .keras3Weights, .kerasArchive:
                return WeightListing(path: path, format: format, attributes: attributes, weights: try keras3Weights(root, path: path))
            case .tfKerasOptimizer:
                return WeightListing(
                    path: path, format: format, attributes: attributes,
                    weights: try tfKerasOptimizer(root.group(TFKerasOptimizerWeights.groupName), path: path))
            case .safetensors, .torchOptimizer, .pyTorchCheckpoint:
                preconditionFailure("safetensors and .pth files are not HDF5")
            }
        } catch let error as HDF5Error {
            throw KerasFormatError(error, file: path)
        }
    }

    /// `file` read from its mapped bytes first: the project's own reader bounds what the file's
    /// variable-length strings may expand into (`ReadLimits`), libhdf5 does not.
    private static func mapped(_ file: File, path: String) throws -> File {
        do { try file.mapIntoMemory() } catch let error as HDF5Error { throw KerasFormatError(error, file: path) }
        return file
    }

    private static func textAttributes(_ attributes: Attributes) throws -> [(String, String)] {
        try attributes.names().compactMap { name in
            guard !name.hasPrefix("layer_names") else { return nil }
            let attribute = try attributes.attribute(name)
            if try attribute.dataType() == .string {
                let strings = try attribute.readStrings().strings
                return (name, strings.count == 1 ? strings[0] : "\(strings)")
            }
            let raw = try attribute.readRawBytes()
            return (name, "\(raw.dataType) \(raw.shape)")
        }
    }

    private static func datasetReader(_ dataset: Dataset) -> @Sendable () throws -> [Double] {
        nonisolated(unsafe) let dataset = dataset
        return {
            let raw = try dataset.readRawBytes()
            guard let dtype = SafetensorsFile.DType(numpyName: raw.dataType.description) else {
                throw KerasFormatError(
                    .dataTypeMismatch, file: dataset.file.path, weight: dataset.path,
                    expected: "a numeric type", found: raw.dataType.description)
            }
            return dtype.doubles(raw.bytes)
        }
    }

    /// The weights of a tf-keras weights group (`layer_names`, per-layer `weight_names`).
    private static func tfKerasWeights(_ group: Group, prefix: String, path: String) throws -> [StoredWeight] {
        var out: [StoredWeight] = []
        for layerName in try NameListAttribute.read("layer_names", from: group.attributes) + ["top_level_model_weights"] {
            guard try group.contains(layerName), try group.kind(of: layerName) == .group else {
                if layerName == "top_level_model_weights" { continue }
                throw KerasFormatError(
                    .missingLayer, file: path, layer: layerName,
                    expected: "a group /\(prefix)\(layerName) listed in layer_names", found: "no such group")
            }
            let layerGroup = try group.group(layerName)
            var positions: [String: Int] = [:]
            for weightName in try NameListAttribute.read("weight_names", from: layerGroup.attributes) {
                guard try layerGroup.contains(weightName), try layerGroup.kind(of: weightName) == .dataset else {
                    throw KerasFormatError(
                        .malformed, file: path, layer: layerName, weight: weightName,
                        expected: "a dataset named in weight_names", found: "none")
                }
                let dataset = try layerGroup.dataset(weightName)
                let bare = weightName.hasSuffix(":0") ? String(weightName.dropLast(2)) : weightName
                let components = bare.split(separator: "/").map(String.init)
                let variable = components.last ?? bare
                let owner = bare == "\(layerName)/\(variable)" || components.count < 2 ? layerName : components[components.count - 2]
                let index = positions[owner, default: 0]
                positions[owner] = index + 1
                out.append(
                    StoredWeight(
                        path: "\(prefix)\(layerName)/\(weightName)", group: layerName, label: weightName, layer: owner,
                        weight: variable, index: index, shape: try dataset.shape(), dataType: try dataset.dataType().description,
                        kind: ["moving_mean", "moving_variance"].contains(variable) ? .nonTrainable : .trainable,
                        transform: nil, reader: datasetReader(dataset)))
            }
        }
        return out
    }

    /// tf-keras optimizer state: the `optimizer_weights` group's `weight_names`.
    private static func tfKerasOptimizer(_ group: Group, path: String) throws -> [StoredWeight] {
        try NameListAttribute.read("weight_names", from: group.attributes).enumerated().map { index, name in
            guard try group.contains(name), try group.kind(of: name) == .dataset else {
                throw KerasFormatError(
                    .malformed, file: path, layer: "optimizer_weights", weight: name,
                    expected: "a dataset named in weight_names", found: "none")
            }
            let dataset = try group.dataset(name)
            return StoredWeight(
                path: "optimizer_weights/\(name)", group: "optimizer_weights", label: name, layer: "optimizer",
                weight: name, index: index, shape: try dataset.shape(), dataType: try dataset.dataType().description,
                kind: .optimizer, transform: nil, reader: datasetReader(dataset))
        }
    }

    /// Every `vars` group of a Keras 3 weights file (the `optimizer/vars` group as optimizer state).
    /// Keras 3 stores no variable names; they are inferred from the shapes of a layer's variables:
    /// kernel (rank ≥ 2) then bias (rank 1), or BatchNormalization's four equal vectors gamma, beta,
    /// moving_mean, moving_variance (the last two non-trainable).
    private static func keras3Weights(_ root: Group, path: String) throws -> [StoredWeight] {
        var out: [StoredWeight] = []
        for varsPath in try Keras3WeightsFormat.varsGroups(in: root) {
            let vars = try root.group(varsPath)
            let owner = varsPath == "vars" ? "" : String(varsPath.dropLast("/vars".count))
            let layer = try vars.attributes.contains("name") ? vars.attributes.string("name") : owner
            let count = try vars.childNames().count
            let datasets = try (0..<count).map { index -> Dataset in
                guard try vars.contains(String(index)), try vars.kind(of: String(index)) == .dataset else {
                    throw KerasFormatError(
                        .malformed, file: path, layer: layer, weight: "\(varsPath)/\(index)",
                        expected: "datasets 0…\(count - 1) in /\(varsPath)", found: "\(try vars.childNames())")
                }
                return try vars.dataset(String(index))
            }
            let shapes = try datasets.map { try $0.shape() }
            let isOptimizer = owner == "optimizer" || owner.hasPrefix("optimizer/")
            let names = isOptimizer ? shapes.indices.map(String.init) : inferredNames(shapes)
            for (index, dataset) in datasets.enumerated() {
                let name = names[index]
                let kind: WeightKind =
                    isOptimizer ? .optimizer : ["moving_mean", "moving_variance"].contains(name) ? .nonTrainable : .trainable
                out.append(
                    StoredWeight(
                        path: "\(varsPath)/\(index)", group: owner.isEmpty ? "/" : owner,
                        label: name == String(index) ? name : "\(index) (\(name))", layer: isOptimizer ? "optimizer" : layer,
                        weight: name, index: index, shape: shapes[index], dataType: try dataset.dataType().description,
                        kind: kind, transform: nil, reader: datasetReader(dataset)))
            }
        }
        return out
    }

    static func inferredNames(_ shapes: [[Int]]) -> [String] {
        if shapes.count == 4, shapes.allSatisfy({ $0.count == 1 && $0 == shapes[0] }) {
            return ["gamma", "beta", "moving_mean", "moving_variance"]
        }
        if shapes.count == 2, shapes[0].count >= 2, shapes[1].count == 1, shapes[1][0] == shapes[0].last { return ["kernel", "bias"] }
        if shapes.count == 1, shapes[0].count >= 2 { return ["kernel"] }
        return shapes.indices.map(String.init)
    }

    // MARK: .keras archives

    private static func readArchive(_ path: String) throws -> WeightListing {
        let archive = try ArchiveReader(path)
        var attributes: [(String, String)] = []
        if let metadata = try archive.contents(of: "metadata.json"),
            case let .object(members)? = try? JSON.parse([UInt8](metadata), file: "metadata.json")
        {
            attributes = members.map { key, value in (key, value.stringValue ?? value.description) }.sorted { $0.0 < $1.0 }
        }
        guard let file = try KerasArchive.Opened.hdf5(archive, "model.weights.h5") else {
            throw KerasFormatError(
                .unknownFormat, file: path, expected: "a .keras archive with model.weights.h5", found: "a zip file without it")
        }
        guard let weightsFormat = try WeightFile.hdf5Format(of: file.root, path: path) else {
            throw KerasFormatError(
                .unknownFormat, file: path, weight: "model.weights.h5", expected: "Keras 3 weights (vars groups)",
                found: "an HDF5 file without them")
        }
        return try readHDF5(
            file.root, format: weightsFormat == .keras3Weights ? .kerasArchive : weightsFormat, path: path,
            archiveAttributes: attributes)
    }

    // MARK: safetensors

    /// The listing of safetensors tensors (read from a safetensors file or a `.pth` checkpoint).
    private static func readSafetensors(_ file: SafetensorsFile, path: String, format: WeightFileFormat) throws -> WeightListing {
        let provenance = try SafetensorsWeightsFormat.provenance(of: file, path: path)
        var positions: [String: Int] = [:]
        // A file PyTorch wrote records no Keras origin: its names and shapes tell it (PyTorchOrigin).
        let inferOrigins = provenance.isEmpty && format == .safetensors
        let statisticsModules = Set(file.tensors.keys.filter { $0.hasSuffix(".running_mean") }.map { $0.dropLast(".running_mean".count) })
        let weights = file.tensors.keys.sorted().map { name -> StoredWeight in
            let tensor = file.tensors[name]!
            let parts = name.split(separator: ".").map(String.init)
            let module = parts.dropLast().joined(separator: ".")
            let leaf = parts.last ?? name
            let recorded = provenance[name]
            let inferred =
                inferOrigins
                ? PyTorchOrigin(tensor: name, shape: tensor.shape, hasRunningStatistics: statisticsModules.contains(Substring(module)))
                : nil
            let layer = recorded?.layer ?? inferred?.layer ?? module
            let index = recorded?.index ?? inferred?.index ?? positions[layer, default: 0]
            positions[layer] = max(positions[layer, default: 0], index + 1)
            let kind: WeightKind =
                format == .torchOptimizer
                ? .optimizer
                : ["running_mean", "running_var", "num_batches_tracked"].contains(leaf) ? .nonTrainable : .trainable
            return StoredWeight(
                path: name, group: module.isEmpty ? "/" : module, label: leaf, layer: layer,
                weight: recorded?.weight ?? inferred?.weight ?? leaf, index: index,
                shape: tensor.shape, dataType: tensor.dtype.numpyName, kind: kind,
                transform: recorded?.transform ?? inferred?.transform, reader: { tensor.doubles },
                recordedKerasShape: recorded?.shape ?? inferred?.kerasShape)
        }
        return WeightListing(
            path: path, format: format,
            attributes: file.metadata.keys.sorted().map {
                ($0, $0 == SafetensorsWeightsFormat.provenanceKey ? "(Keras origin of \(provenance.count) tensors)" : file.metadata[$0]!)
            },
            weights: weights)
    }
}

extension SafetensorsFile.DType {
    init?(numpyName: String) {
        guard let match = Self.allCases.first(where: { $0.numpyName == numpyName }) else { return nil }
        self = match
    }
}
