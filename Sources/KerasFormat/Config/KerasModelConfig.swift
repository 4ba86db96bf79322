import DenseNetEngine
import Foundation
import HDF5
import ZIPFoundation

/// A Keras functional model as its own file describes it — the `model_config` attribute of a
/// tf-keras full-model `.h5`, or `config.json` of a Keras 3 `.keras` archive — and the
/// `FunctionalModel` it builds.
///
/// Any graph of these layers builds: InputLayer, ZeroPadding2D, Conv2D, BatchNormalization,
/// Activation, ReLU, MaxPooling2D, AveragePooling2D, Concatenate, GlobalAveragePooling2D,
/// GlobalMaxPooling2D, Flatten, Dense (linear, relu or softmax). Layer names, order and options
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
        public let className: String
        public let name: String
        /// Names of the layers whose outputs this layer takes, in argument order (empty for InputLayer).
        public let inbound: [String]
    }

    /// Which Keras wrote the config (decides BatchNormalization's moving-variance update).
    public let flavor: KerasFlavor
    /// The model's name (`densenet121`).
    public let name: String
    public let layers: [LayerEntry]
    public let inputName: String
    /// Per-sample input shape from the InputLayer (`batch_input_shape` / `batch_shape` without the batch axis).
    public let inputShape: [Int]
    public let outputName: String
    /// Where the config came from, for error messages.
    public let file: String
    /// Each layer's `config` object, as parsed.
    private let options: [[String: Any]]

    /// Layer classes the toolkit builds.
    public static let supportedLayers = ["InputLayer", "ZeroPadding2D", "Conv2D", "BatchNormalization", "Activation", "ReLU",
                                         "MaxPooling2D", "AveragePooling2D", "Concatenate", "GlobalAveragePooling2D",
                                         "GlobalMaxPooling2D", "Flatten", "Dense"]

    /// Parses a config JSON text: tf-keras `model_config` or Keras 3 `config.json` (told apart by
    /// their shape: Keras 3 layers carry `module` and `inbound_nodes` with `args`).
    public init(json: String, file: String = "model config") throws {
        try self.init(data: Data(json.utf8), file: file)
    }

    public init(data: Data, file: String = "model config") throws {
        self.file = file
        let top: [String: Any]
        do {
            guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
                throw KerasFormatError(.malformed, file: file, expected: "a JSON object", found: "another JSON value")
            }
            top = object
        } catch let error as KerasFormatError {
            throw error
        } catch {
            throw KerasFormatError(.malformed, file: file, expected: "JSON", found: "\(error.localizedDescription)")
        }
        let className = top["class_name"] as? String ?? "?"
        guard ["Functional", "Model"].contains(className) else {
            throw KerasFormatError(.wrongFormat, file: file, layer: top["name"] as? String ?? "",
                                   expected: "a functional model (class Functional)", found: "class \(className)")
        }
        guard let config = top["config"] as? [String: Any], let layerList = config["layers"] as? [[String: Any]] else {
            throw KerasFormatError(.malformed, file: file, expected: "config.layers, a list of layer objects", found: "none")
        }
        let isKeras3 = top["module"] != nil || layerList.contains { $0["module"] != nil }
            || layerList.contains { (($0["inbound_nodes"] as? [Any])?.first as? [String: Any]) != nil }
        flavor = isKeras3 ? .keras3 : .tfKeras
        name = config["name"] as? String ?? "model"

        var entries: [LayerEntry] = []
        var options: [[String: Any]] = []
        var seen = Set<String>()
        var input: (name: String, shape: [Int])?
        for layer in layerList {
            guard let cls = layer["class_name"] as? String,
                  let layerConfig = layer["config"] as? [String: Any],
                  let layerName = layer["name"] as? String ?? layerConfig["name"] as? String else {
                throw KerasFormatError(.malformed, file: file, layer: layer["name"] as? String ?? "",
                                       expected: "class_name, name and config", found: "\(layer.keys.sorted())")
            }
            let nodes = layer["inbound_nodes"] as? [Any] ?? []
            guard nodes.count <= 1 else {
                throw KerasFormatError(.wrongFormat, file: file, layer: layerName,
                                       expected: "each layer called once", found: "a layer shared by \(nodes.count) calls")
            }
            var inbound: [String] = []
            if let node = nodes.first {
                inbound = try Self.inboundNames(node, layer: layerName, file: file)
            }
            if cls == "InputLayer" {
                guard input == nil else {
                    throw KerasFormatError(.wrongFormat, file: file, layer: layerName, expected: "one input", found: "a second InputLayer")
                }
                let batchShape = (layerConfig["batch_shape"] ?? layerConfig["batch_input_shape"]) as? [Any] ?? []
                let dims = batchShape.dropFirst().map { jsonInt($0) ?? -1 }
                guard !dims.isEmpty, dims.allSatisfy({ $0 > 0 }) else {
                    throw KerasFormatError(.wrongFormat, file: file, layer: layerName,
                                           expected: "a fixed input shape", found: "batch shape \(batchShape)")
                }
                input = (layerName, dims)
            } else if inbound.isEmpty {
                throw KerasFormatError(.malformed, file: file, layer: layerName, expected: "inbound layers", found: "none")
            }
            for source in inbound where !seen.contains(source) {
                throw KerasFormatError(.malformed, file: file, layer: layerName,
                                       expected: "inbound layers listed before the layer", found: source)
            }
            guard seen.insert(layerName).inserted else {
                throw KerasFormatError(.malformed, file: file, layer: layerName, expected: "unique layer names", found: "\(layerName) twice")
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
            let archive: Archive
            do {
                archive = try Archive(url: URL(fileURLWithPath: path), accessMode: .read)
            } catch {
                throw KerasFormatError(.unknownFormat, file: path, expected: "a .keras archive (zip)", found: "\(error)")
            }
            guard let entry = archive["config.json"] else {
                throw KerasFormatError(.malformed, file: path, layer: "config.json", expected: "a config.json entry", found: "none")
            }
            var data = Data()
            do {
                _ = try archive.extract(entry) { data.append($0) }
            } catch {
                throw KerasFormatError(.io, file: path, layer: "config.json", found: "cannot extract: \(error)")
            }
            try self.init(data: data, file: path)
            return
        }
        let text: String
        do {
            guard let root = file.hdf5?.root, try root.attributes.contains("model_config") else {
                throw KerasFormatError(.wrongFormat, file: path, expected: "a full-model file with a model_config attribute",
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
        var nodes: [FunctionalModel.Node] = []
        for (entry, config) in zip(layers, options) {
            let layer = try makeLayer(entry, config)
            nodes.append(FunctionalModel.Node(layer, entry.className == "InputLayer" ? [inputName] : entry.inbound))
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
    private static func inboundNames(_ node: Any, layer: String, file: String) throws -> [String] {
        var names: [String] = []
        func history(_ h: [Any]) throws {
            guard let source = h.first as? String else { return }
            let indices = h.dropFirst().prefix(2).map { jsonInt($0) ?? 0 }
            guard indices.allSatisfy({ $0 == 0 }) else {
                throw KerasFormatError(.wrongFormat, file: file, layer: layer,
                                       expected: "inputs from single-output layers called once", found: "\(source) node/tensor \(indices)")
            }
            names.append(source)
        }
        func visit(_ value: Any) throws {
            if let object = value as? [String: Any] {
                if let config = object["config"] as? [String: Any], let h = config["keras_history"] as? [Any] {
                    try history(h)
                } else {
                    for key in ["args"] { if let v = object[key] { try visit(v) } }
                }
            } else if let list = value as? [Any] {
                if list.first is String { try history(list) } else { for item in list { try visit(item) } }
            }
        }
        try visit(node)
        return names
    }

    /// `input_layers` / `output_layers`: `[["name", 0, 0], …]` or Keras 3's single `["name", 0, 0]`.
    private static func endpointNames(_ value: Any?) -> [String] {
        guard let list = value as? [Any] else { return [] }
        if let single = list.first as? String { return [single] }
        return list.compactMap { ($0 as? [Any])?.first as? String }
    }

    // MARK: - layers

    private func makeLayer(_ entry: LayerEntry, _ c: [String: Any]) throws -> any Layer {
        let name = entry.name
        func fail(_ what: String, _ found: Any?) -> KerasFormatError {
            KerasFormatError(.wrongFormat, file: file, layer: name, expected: what, found: "\(found.map { "\($0)" } ?? "none")")
        }
        func int(_ key: String) throws -> Int {
            guard let n = jsonInt(c[key]) else { throw fail("an integer \(key)", c[key]) }
            return n
        }
        func double(_ key: String, _ fallback: Double) throws -> Double {
            guard let v = c[key] else { return fallback }
            guard let n = jsonDouble(v) else { throw fail("a number \(key)", v) }
            return n
        }
        func bool(_ key: String, _ fallback: Bool) -> Bool { jsonBool(c[key]) ?? fallback }
        func pair(_ key: String, _ fallback: (Int, Int)? = nil) throws -> (Int, Int) {
            if let n = jsonInt(c[key]) { return (n, n) }
            if let l = jsonInts(c[key]), l.count == 2 { return (l[0], l[1]) }
            if let fallback, c[key] == nil || c[key] is NSNull { return fallback }
            throw fail("\(key) as one or two integers", c[key])
        }
        func padding() throws -> Padding {
            let text = (c["padding"] as? String ?? "valid").lowercased()
            guard let p = Padding(rawValue: text) else { throw fail("padding valid or same", text) }
            return p
        }
        func channelsLast() throws {
            if let format = c["data_format"] as? String, format != "channels_last" {
                throw fail("data_format channels_last (NHWC)", format)
            }
        }
        func activation(_ allowed: [ActivationFunction]) throws -> ActivationFunction {
            let raw = c["activation"] ?? "linear"
            let text: String
            if let s = raw as? String { text = s } else if raw is NSNull { text = "linear" }
            else if let object = raw as? [String: Any], let s = (object["config"] as? [String: Any])?["name"] as? String ?? object["class_name"] as? String {
                text = s
            } else { throw fail("an activation name", raw) }
            guard let f = ActivationFunction(rawValue: text == "None" ? "linear" : text), allowed.contains(f) else {
                throw fail("activation \(allowed.map(\.rawValue).joined(separator: ", "))", text)
            }
            return f
        }
        func channelAxis() throws {
            let raw = c["axis"] ?? -1
            let axes = jsonInts(raw) ?? [jsonInt(raw) ?? 0]
            let rank = 4  // image layers: batch, H, W, C
            guard axes.count == 1, axes[0] == -1 || axes[0] == rank - 1 else { throw fail("the channel axis (-1 or 3)", raw) }
        }

        switch entry.className {
        case "InputLayer":
            return InputLayer(shape: inputShape, name: name)
        case "ZeroPadding2D":
            try channelsLast()
            let p = c["padding"]
            if let n = jsonInt(p) { return ZeroPadding2D(padding: n, name: name) }
            if let l = jsonInts(p), l.count == 2 { return ZeroPadding2D(padding: ((l[0], l[0]), (l[1], l[1])), name: name) }
            if let l = (p as? [Any])?.compactMap(jsonInts), l.count == 2, l.allSatisfy({ $0.count == 2 }) {
                return ZeroPadding2D(padding: ((l[0][0], l[0][1]), (l[1][0], l[1][1])), name: name)
            }
            throw fail("padding as an integer, two integers or two pairs", p)
        case "Conv2D":
            try channelsLast()
            guard try pair("dilation_rate", (1, 1)) == (1, 1) else { throw fail("dilation_rate 1", c["dilation_rate"]) }
            if let groups = jsonInt(c["groups"]), groups != 1 { throw fail("groups 1", groups) }
            return Conv2D(filters: try int("filters"), kernelSize: try pair("kernel_size"), strides: try pair("strides", (1, 1)),
                          padding: try padding(), useBias: bool("use_bias", true), activation: try activation([.linear, .relu]),
                          name: name)
        case "BatchNormalization":
            try channelAxis()
            guard bool("center", true), bool("scale", true) else { throw fail("center and scale (beta and gamma)", "center/scale off") }
            if bool("renorm", false) { throw fail("no batch renormalization", "renorm") }
            return BatchNormalization(momentum: try double("momentum", 0.99), epsilon: try double("epsilon", 1e-3),
                                      movingVarianceUpdate: flavor.movingVarianceUpdate, name: name)
        case "Activation":
            return Activation(try activation([.linear, .relu, .softmax]), name: name)
        case "ReLU":
            let maxValue = c["max_value"]
            guard maxValue == nil || maxValue is NSNull, try double("negative_slope", 0) == 0, try double("threshold", 0) == 0 else {
                throw fail("a plain ReLU (no max_value, negative_slope or threshold)", "\(c)")
            }
            return ReLU(name: name)
        case "MaxPooling2D", "AveragePooling2D":
            try channelsLast()
            let size = try pair("pool_size", (2, 2))
            let strides = try pair("strides", size)
            return entry.className == "MaxPooling2D"
                ? MaxPooling2D(poolSize: size, strides: strides, padding: try padding(), name: name)
                : AveragePooling2D(poolSize: size, strides: strides, padding: try padding(), name: name)
        case "Concatenate":
            try channelAxis()
            return Concatenate(name: name)
        case "GlobalAveragePooling2D", "GlobalMaxPooling2D":
            try channelsLast()
            guard !bool("keepdims", false) else { throw fail("keepdims false", "keepdims true") }
            return entry.className == "GlobalAveragePooling2D" ? GlobalAveragePooling2D(name: name) : GlobalMaxPooling2D(name: name)
        case "Flatten":
            try channelsLast()
            return Flatten(name: name)
        case "Dense":
            return Dense(units: try int("units"), activation: try activation([.linear, .relu, .softmax]),
                         useBias: bool("use_bias", true), name: name)
        default:
            throw KerasFormatError(.wrongFormat, file: file, layer: name,
                                   expected: "a layer densenet-io builds (\(Self.supportedLayers.joined(separator: ", ")))",
                                   found: "class \(entry.className)")
        }
    }
}

// JSONSerialization gives NSNumber for numbers and booleans alike (on Linux an NSNumber 1 `is Bool`):
// keys decide how a value is read.

private func jsonInt(_ v: Any?) -> Int? {
    if let i = v as? Int { return i }
    if let d = v as? Double, d.rounded() == d { return Int(d) }
    if let n = v as? NSNumber { return n.intValue }
    return nil
}

private func jsonDouble(_ v: Any?) -> Double? {
    if let d = v as? Double { return d }
    if let i = v as? Int { return Double(i) }
    if let n = v as? NSNumber { return n.doubleValue }
    return nil
}

private func jsonBool(_ v: Any?) -> Bool? {
    if let b = v as? Bool { return b }
    if let n = v as? NSNumber { return n.boolValue }
    return nil
}

private func jsonInts(_ v: Any?) -> [Int]? {
    guard let list = v as? [Any] else { return nil }
    let ints = list.compactMap(jsonInt)
    return ints.count == list.count ? ints : nil
}
