import Foundation
import DenseNetEngine

/// The config of a functional model, layer by layer through `KerasLayerCodecs`: tf-keras 2.21's
/// `model_config` and Keras 3.15's `Functional.get_config()`, checked against the configs Keras
/// wrote for `Fixtures/keras/` (ConfigExportTests, FunctionalArchiveTests, CheckpointTests).
extension ModelConfig {
    /// One layer as the config lists it; names are the model's (Keras 3's are derived when written).
    private struct Entry {
        let layer: any KerasLayerCodec
        let name: String
        let inbound: [String]
        /// Output shapes (per sample) of the inbound layers; the input's own for the InputLayer.
        let inputShapes: [[Int]]

        var codec: any KerasLayerCodec.Type { type(of: layer) }
    }

    /// The layers in graph order, the InputLayer first whether or not the model has it as a node.
    private static func entries(_ model: FunctionalModel, inputShape: [Int], flavor: KerasFlavor) throws -> [Entry] {
        let file = flavor == .keras3 ? "config.json" : "model_config"
        var shapes: [String: [Int]] = [model.inputName: inputShape]
        let input = Entry(
            layer: InputLayer(shape: inputShape, name: model.inputName), name: model.inputName, inbound: [],
            inputShapes: [inputShape])
        return try [input]
            + model.nodes.filter { !($0.layer is InputLayer) }.map { node in
                guard let name = node.layer.name else {
                    throw KerasFormatError(
                        .malformed, file: file, layer: node.layer.kerasClassName, expected: "a named layer", found: "none")
                }
                guard let layer = KerasLayerCodecs.codable(node.layer) else {
                    throw KerasFormatError(
                        .wrongFormat, file: file, layer: writtenName(name, flavor),
                        expected: "a layer densenet-io describes to Keras (\(KerasModelConfig.supportedLayers.joined(separator: ", ")))",
                        found: "class \(node.layer.kerasClassName)")
                }
                let inputShapes = try node.inbound.map { inbound -> [Int] in
                    guard let shape = shapes[inbound] else {
                        throw KerasFormatError(.malformed, file: file, layer: name, expected: "a known inbound layer", found: inbound)
                    }
                    return shape
                }
                shapes[name] = try (layer as? any Op)?.outputShape(for: inputShapes) ?? inputShapes.first ?? []
                return Entry(layer: layer, name: name, inbound: node.inbound, inputShapes: inputShapes)
            }
    }

    /// Keras 3 refuses `/` in layer names: tf-keras' `conv1/conv` is Keras 3's `conv1_conv`.
    /// (Its weight paths go by class, not name, so the weights file is unaffected.)
    private static func writtenName(_ name: String, _ flavor: KerasFlavor) -> String {
        flavor == .keras3 ? name.replacingOccurrences(of: "/", with: "_") : name
    }

    static func tfKerasFunctional(_ model: FunctionalModel, inputShape: [Int]) throws -> JSON {
        let layers = try entries(model, inputShape: inputShape, flavor: .tfKeras).map { entry in
            let writer = LayerConfigWriter(name: entry.name, flavor: .tfKeras, inputShapes: entry.inputShapes)
            let node = JSON.array(entry.inbound.map { .array([.string($0), .int(0), .int(0), .object([])]) })
            return JSON.object([
                ("class_name", .string(entry.codec.configClassName)),
                ("config", .object(entry.layer.config(writer))),
                ("name", .string(entry.name)),
                ("inbound_nodes", .array(entry.inbound.isEmpty ? [] : [node]))
            ])
        }
        return .object([
            ("name", .string(model.name ?? "model")),
            ("trainable", .bool(true)),
            ("layers", .array(layers)),
            ("input_layers", .array([.array([.string(model.inputName), .int(0), .int(0)])])),
            ("output_layers", .array([.array([.string(model.outputName), .int(0), .int(0)])]))
        ])
    }

    /// Keras 3 `Functional.get_config()` (the `config` of a `.keras` archive's `config.json`): every
    /// layer with `module`, `registered_name`, the input shape for layers that define `build()`
    /// (`build_config`), and one inbound node of `__keras_tensor__`s.
    static func keras3Functional(_ model: FunctionalModel, inputShape: [Int]) throws -> JSON {
        let rename = { (name: String) in writtenName(name, .keras3) }
        let layers = try entries(model, inputShape: inputShape, flavor: .keras3).map { entry in
            let writer = LayerConfigWriter(name: rename(entry.name), flavor: .keras3, inputShapes: entry.inputShapes)
            let tensors = zip(entry.inbound, entry.inputShapes).map { source, shape in
                JSON.object([
                    ("class_name", .string("__keras_tensor__")),
                    (
                        "config",
                        .object([
                            ("shape", LayerConfigWriter.batchShape(shape)), ("dtype", .string("float32")),
                            ("keras_history", .array([.string(rename(source)), .int(0), .int(0)]))
                        ])
                    )
                ])
            }
            let node = JSON.object([
                ("args", .array(entry.codec.takesInputList ? [.array(tensors)] : tensors)),
                ("kwargs", .object(entry.codec.callKeywords))
            ])
            var members: [(String, JSON)] = [
                ("module", .string("keras.layers")), ("class_name", .string(entry.codec.configClassName)),
                ("config", .object(entry.layer.config(writer))), ("registered_name", .null)
            ]
            if entry.codec.hasBuildConfig {
                let shapes = entry.inputShapes.map(LayerConfigWriter.batchShape)
                members.append(("build_config", .object([("input_shape", shapes.count == 1 ? shapes[0] : .array(shapes))])))
            }
            return JSON.object(members + [("name", .string(writer.name)), ("inbound_nodes", .array(entry.inbound.isEmpty ? [] : [node]))])
        }
        let endpoint = { (name: String) in JSON.array([.string(rename(name)), .int(0), .int(0)]) }
        return .object([
            ("name", .string(rename(model.name ?? "model"))),
            ("trainable", .bool(true)),
            ("layers", .array(layers)),
            // One input and one output: Keras 3 writes the bare tensor reference, not a list of them.
            ("input_layers", endpoint(model.inputName)),
            ("output_layers", endpoint(model.outputName))
        ])
    }
}
