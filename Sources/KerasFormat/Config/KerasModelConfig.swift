import DenseNetEngine
import Foundation
import HDF5

/// A Keras functional model as its own file describes it — the `model_config` attribute of a
/// tf-keras full-model `.h5`, or `config.json` of a Keras 3 `.keras` archive — and the
/// `FunctionalModel` it builds.
///
/// Any graph of these layers builds (`supportedLayers`, one codec each in `Config/Layers/`):
/// InputLayer, ZeroPadding2D, Conv2D, BatchNormalization, Activation, ReLU, MaxPooling2D,
/// AveragePooling2D, Concatenate, GlobalAveragePooling2D, GlobalMaxPooling2D, Flatten, Dense
/// (linear, relu or softmax). Layer names, order and options
/// are the file's, so the built model writes weight files laid out as Keras lays them out. Any
/// other layer, or an option the engine does not implement (dilation, channels_first, …), is a
/// `KerasFormatError` naming the layer.
///
/// ```swift
/// let config = try KerasModelConfig(contentsOf: "densenet121.h5")    // or "densenet121.keras"
/// let model = try config.makeModel()                                  // then model.loadWeights(…)
/// ```
public struct KerasModelConfig {
    /// One entry of the config's `layers`, in file order (Keras' `model.layers`).
    public struct LayerEntry: Equatable, Sendable {
        /// The Keras class, e.g. `Conv2D` (`class_name` in the config).
        public let className: String
        /// The layer's unique name within the model, e.g. `conv1/conv`.
        public let name: String
        /// Names of the layers whose outputs this layer takes, in argument order (empty for InputLayer).
        public let inbound: [String]
    }

    /// Which Keras wrote the config (decides BatchNormalization's moving-variance update).
    public let flavor: KerasFlavor
    /// The model's name (`densenet121`).
    public let name: String
    /// Every layer in the config's order, the InputLayer first.
    public let layers: [LayerEntry]
    /// The InputLayer's name (`input_1` in tf-keras, `input_layer` in Keras 3), which inbound lists refer to.
    public let inputName: String
    /// Per-sample input shape from the InputLayer (`batch_input_shape` / `batch_shape` without the batch axis).
    public let inputShape: [Int]
    /// The name of the layer whose output is the model's (the config's `output_layers`).
    public let outputName: String
    /// Where the config came from, for error messages.
    public let file: String
    /// Each layer's `config` object, as parsed.
    private let options: [JSON]

    /// Layer classes the toolkit builds (and writes): those of `KerasLayerCodecs`.
    public static var supportedLayers: [String] { KerasLayerCodecs.all.map { $0.configClassName } }

    /// Parses a config JSON text: tf-keras `model_config` or Keras 3 `config.json` (told apart by
    /// their shape: Keras 3 layers carry `module` and `inbound_nodes` with `args`).
    public init(json: String, file: String = "model config") throws {
        try self.init(utf8: Array(json.utf8), file: file)
    }

    /// Parses config JSON bytes (UTF-8), as read from a file or archive entry.
    public init(data: Data, file: String = "model config") throws {
        try self.init(utf8: [UInt8](data), file: file)
    }

    private init(utf8: [UInt8], file: String) throws {
        self.file = file
        let top = try JSON.parse(utf8, file: file)
        guard top.objectValue != nil else {
            throw KerasFormatError(.malformed, file: file, expected: "a JSON object", found: "another JSON value")
        }
        let className = top["class_name"]?.stringValue ?? "?"
        guard ["Functional", "Model"].contains(className) else {
            throw KerasFormatError(
                .wrongFormat, file: file, layer: top["name"]?.stringValue ?? "",
                expected: "a functional model (class Functional)", found: "class \(className)")
        }
        guard let config = top["config"], let layerList = config["layers"]?.arrayValue,
            layerList.allSatisfy({ $0.objectValue != nil })
        else {
            throw KerasFormatError(.malformed, file: file, expected: "config.layers, a list of layer objects", found: "none")
        }
        let isKeras3 =
            top["module"] != nil || layerList.contains { $0["module"] != nil }
            || layerList.contains { $0["inbound_nodes"]?.arrayValue?.first?.objectValue != nil }
        flavor = isKeras3 ? .keras3 : .tfKeras
        name = config["name"]?.stringValue ?? "model"

        var entries: [LayerEntry] = []
        var options: [JSON] = []
        var seen = Set<String>()
        var input: (name: String, shape: [Int])?
        for layer in layerList {
            guard let cls = layer["class_name"]?.stringValue,
                let layerConfig = layer["config"], layerConfig.objectValue != nil,
                let layerName = layer["name"]?.stringValue ?? layerConfig["name"]?.stringValue
            else {
                throw KerasFormatError(
                    .malformed, file: file, layer: layer["name"]?.stringValue ?? "",
                    expected: "class_name, name and config", found: "\((layer.objectValue ?? []).map(\.0).sorted())")
            }
            let nodes = layer["inbound_nodes"]?.arrayValue ?? []
            guard nodes.count <= 1 else {
                throw KerasFormatError(
                    .wrongFormat, file: file, layer: layerName,
                    expected: "each layer called once", found: "a layer shared by \(nodes.count) calls")
            }
            var inbound: [String] = []
            if let node = nodes.first {
                inbound = try Self.inboundNames(node, layer: layerName, file: file)
            }
            if cls == InputLayer.configClassName {
                guard input == nil else {
                    throw KerasFormatError(.wrongFormat, file: file, layer: layerName, expected: "one input", found: "a second InputLayer")
                }
                let shape = try InputLayer.shape(from: LayerConfig(json: layerConfig, name: layerName, file: file, flavor: flavor))
                input = (layerName, shape)
            } else if inbound.isEmpty {
                throw KerasFormatError(.malformed, file: file, layer: layerName, expected: "inbound layers", found: "none")
            }
            for source in inbound where !seen.contains(source) {
                throw KerasFormatError(
                    .malformed, file: file, layer: layerName,
                    expected: "inbound layers listed before the layer", found: source)
            }
            guard seen.insert(layerName).inserted else {
                throw KerasFormatError(
                    .malformed, file: file, layer: layerName, expected: "unique layer names", found: "\(layerName) twice")
            }
            entries.append(LayerEntry(className: cls, name: layerName, inbound: inbound))
            options.append(layerConfig)
        }
        guard let input else {
            throw KerasFormatError(.wrongFormat, file: file, expected: "an InputLayer", found: "none")
        }
        let inputs = Self.endpointNames(config["input_layers"])
        let outputs = Self.endpointNames(config["output_layers"])
        guard inputs.count <= 1, inputs.first.map({ $0 == input.name }) ?? true else {
            throw KerasFormatError(.wrongFormat, file: file, expected: "one model input (\(input.name))", found: "\(inputs)")
        }
        guard outputs.count == 1, let output = outputs.first, seen.contains(output) else {
            throw KerasFormatError(.wrongFormat, file: file, expected: "one model output, a layer of the model", found: "\(outputs)")
        }
        layers = entries
        self.options = options
        inputName = input.name
        inputShape = input.shape
        outputName = output
    }

    /// Reads the config of a tf-keras full-model `.h5` (`model_config` attribute) or of a Keras 3
    /// `.keras` archive (`config.json`), told apart by content.
    public init(contentsOf path: String) throws {
        try self.init(contentsOf: WeightFile(path))
    }

    /// Reads the config of an already detected tf-keras full-model `.h5` or `.keras` archive.
    public init(contentsOf file: WeightFile) throws {
        let path = file.path
        if file.format == .kerasArchive {
            guard let data = try ArchiveReader(path).contents(of: "config.json") else {
                throw KerasFormatError(.malformed, file: path, layer: "config.json", expected: "a config.json entry", found: "none")
            }
            try self.init(data: data, file: path)
            return
        }
        let text: String
        do {
            guard let root = file.hdf5?.root, try root.attributes.contains("model_config") else {
                throw KerasFormatError(
                    .wrongFormat, file: path, expected: "a full-model file with a model_config attribute",
                    found: "no model_config (a \(file.format) file)")
            }
            text = try root.attributes.string("model_config")
        } catch let error as HDF5Error {
            throw KerasFormatError(error, file: path)
        }
        try self.init(json: text, file: path)
    }

    /// The functional model the config describes (variables are created when a `Model` is built).
    public func makeFunctionalModel() throws -> FunctionalModel {
        let nodes = try zip(layers, options).map { entry, options in
            guard let codec = KerasLayerCodecs.codec(named: entry.className) else {
                throw KerasFormatError(
                    .wrongFormat, file: file, layer: entry.name,
                    expected: "a layer densenet-io builds (\(Self.supportedLayers.joined(separator: ", ")))",
                    found: "class \(entry.className)")
            }
            let layer = try codec.make(from: LayerConfig(json: options, name: entry.name, file: file, flavor: flavor))
            return FunctionalModel.Node(layer, entry.className == InputLayer.configClassName ? [inputName] : entry.inbound)
        }
        return FunctionalModel(name: name, inputName: inputName, nodes: nodes, outputName: outputName)
    }

    /// The built model (variables initialised from `seed`; load the file's weights next).
    public func makeModel(seed: UInt64 = 0, parallel: Parallel = .automatic()) throws -> Model {
        let root = try makeFunctionalModel()
        do {
            return try Model(root: root, inputShape: inputShape, seed: seed, parallel: parallel)
        } catch let error as EngineError {
            throw KerasFormatError(.malformed, file: file, layer: name, expected: "a graph whose shapes fit", found: error.description)
        }
    }

    // MARK: - parsing helpers

    /// Inbound layer names of one node: tf-keras `[["name", 0, 0, {}], …]`, Keras 3
    /// `{"args": [...], "kwargs": {...}}` with `__keras_tensor__` objects (nested lists allowed).
    private static func inboundNames(_ node: JSON, layer: String, file: String) throws -> [String] {
        var names: [String] = []
        func history(_ h: [JSON]) throws {
            guard let source = h.first?.stringValue else { return }
            let indices = h.dropFirst().prefix(2).map { $0.intValue ?? 0 }
            guard indices.allSatisfy({ $0 == 0 }) else {
                throw KerasFormatError(
                    .wrongFormat, file: file, layer: layer,
                    expected: "inputs from single-output layers called once", found: "\(source) node/tensor \(indices)")
            }
            names.append(source)
        }
        func visit(_ value: JSON) throws {
            switch value {
            case .object:
                if let h = value["config"]?["keras_history"]?.arrayValue {
                    try history(h)
                } else if let args = value["args"] {
                    try visit(args)
                }
            case let .array(list):
                if list.first?.stringValue != nil { try history(list) } else { for item in list { try visit(item) } }
            default:
                break
            }
        }
        try visit(node)
        return names
    }

    /// `input_layers` / `output_layers`: `[["name", 0, 0], …]` or Keras 3's single `["name", 0, 0]`.
    private static func endpointNames(_ value: JSON?) -> [String] {
        guard let list = value?.arrayValue else { return [] }
        if let single = list.first?.stringValue { return [single] }
        return list.compactMap { $0.arrayValue?.first?.stringValue }
    }
}
