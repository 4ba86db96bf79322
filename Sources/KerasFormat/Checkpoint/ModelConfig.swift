import DenseNetEngine

/// The JSON Keras writes to describe a model (`model_config`, Keras 3's `config.json`) and its
/// training setup (`training_config`, `compile_config`).
///
/// Mirrors what tf-keras 2.21 `saving_utils.model_metadata` and Keras 3.15 `serialize_keras_object`
/// produce (checked against `Fixtures/keras/tiny_functional_ckpt.h5` and `tiny_functional_keras3.keras`):
/// a functional model is described layer by layer, a subclassed one (the tutorial `DenseNet`) only by
/// its class, since its `get_config()` is `{}` — the toolkit rebuilds those from the preset name in
/// the checkpoint's training-state group.
///
/// Seam for the config→model builder (Sources/KerasFormat/Config/): a model built from a Keras
/// `model_config` should hand that JSON back as `ModelDescription.modelConfig`; it is then written
/// unchanged instead of being generated here.
public enum ModelConfig {
    /// tf-keras `model_config` of `model` (`{"class_name": …, "config": …}`).
    public static func tfKeras(_ model: Model) throws -> JSON {
        let root = model.root
        if let functional = root as? FunctionalModel {
            return .object([("class_name", .string("Functional")), ("config", try tfKerasFunctional(functional, inputShape: model.inputShape))])
        }
        return .object([("class_name", .string(root.kerasClassName)), ("config", .object([]))])
    }

    /// tf-keras `training_config` for Adam + SparseCategoricalCrossentropy + accuracy (what the
    /// tutorial compiles), as `model.save` writes it.
    public static func tfKerasTraining(_ adam: AdamConfig) -> JSON {
        .object([
            ("loss", .object([
                ("class_name", .string("SparseCategoricalCrossentropy")),
                ("config", .object([("reduction", .string("auto")), ("name", .string("sparse_categorical_crossentropy")),
                                    ("from_logits", .bool(false)), ("ignore_class", .null),
                                    ("fn", .string("sparse_categorical_crossentropy"))])),
            ])),
            ("metrics", .array([.array([.object([
                ("class_name", .string("MeanMetricWrapper")),
                ("config", .object([("name", .string("accuracy")), ("dtype", .string("float32")),
                                    ("fn", .string("sparse_categorical_accuracy"))])),
            ])])])),
            ("weighted_metrics", .null),
            ("loss_weights", .null),
            ("optimizer_config", .object([
                ("class_name", .string("Custom>Adam")),
                ("config", .object([
                    ("name", .string("Adam")), ("weight_decay", .null), ("clipnorm", .null), ("global_clipnorm", .null),
                    ("clipvalue", .null), ("use_ema", .bool(false)), ("ema_momentum", .double(0.99)),
                    ("ema_overwrite_frequency", .null), ("jit_compile", .bool(false)), ("is_legacy_optimizer", .bool(false)),
                    // A float32 variable in Keras, so written at float32 precision.
                    ("learning_rate", .double(Double(Float(adam.learningRate)))),
                    ("beta_1", .double(adam.beta1)), ("beta_2", .double(adam.beta2)), ("epsilon", .double(adam.epsilon)),
                    ("amsgrad", .bool(false)),
                ])),
            ])),
        ])
    }

    /// The optimizer of a `training_config` (tf-keras) or `compile_config` (Keras 3): Adam only.
    /// Throws for any other optimizer, or for Adam options the engine does not implement.
    public static func adam(fromTraining config: JSON, file: String) throws -> AdamConfig {
        let optimizer = config["optimizer_config"] ?? config["optimizer"]
        guard let optimizer, let className = optimizer["class_name"]?.stringValue else {
            throw KerasFormatError(.malformed, file: file, expected: "an optimizer in the training configuration", found: "none")
        }
        guard ["Adam", "Custom>Adam"].contains(className) else {
            throw KerasFormatError(.wrongFormat, file: file, layer: "optimizer",
                                   expected: "the Adam optimizer (the only one the toolkit trains with)", found: "\(className)")
        }
        let options = optimizer["config"] ?? .object([])
        for flag in ["amsgrad", "use_ema"] where options[flag] == .bool(true) {
            throw KerasFormatError(.wrongFormat, file: file, layer: "optimizer", expected: "Adam without \(flag)", found: "\(flag) = true")
        }
        for option in ["weight_decay", "clipnorm", "global_clipnorm", "clipvalue"] {
            if let value = options[option], value != .null {
                throw KerasFormatError(.wrongFormat, file: file, layer: "optimizer", expected: "Adam without \(option)", found: "\(option) = \(value)")
            }
        }
        func number(_ key: String, _ fallback: Double) throws -> Double {
            guard let value = options[key] else { return fallback }
            guard let d = value.doubleValue else {
                throw KerasFormatError(.wrongFormat, file: file, layer: "optimizer", expected: "a number for \(key) (no schedules)", found: "\(value)")
            }
            return d
        }
        return AdamConfig(learningRate: try number("learning_rate", 0.001), beta1: try number("beta_1", 0.9),
                          beta2: try number("beta_2", 0.999), epsilon: try number("epsilon", 1e-7))
    }

    // MARK: functional models

    /// A functional model's layers in graph order, each with its name, inbound layer names and
    /// their output shapes (per sample); the InputLayer is left out, whether or not it is a node.
    private static func walk(_ model: FunctionalModel, inputShape: [Int], file: String)
        throws -> [(layer: any Layer, name: String, inbound: [String], inputShapes: [[Int]])] {
        var shapes: [String: [Int]] = [model.inputName: inputShape]
        return try model.nodes.filter { !($0.layer is InputLayer) }.map { node in
            guard let name = node.layer.name else {
                throw KerasFormatError(.malformed, file: file, layer: node.layer.kerasClassName, expected: "a named layer", found: "none")
            }
            let inputShapes = try node.inbound.map { inbound -> [Int] in
                guard let shape = shapes[inbound] else {
                    throw KerasFormatError(.malformed, file: file, layer: name, expected: "a known inbound layer", found: inbound)
                }
                return shape
            }
            shapes[name] = try outputShape(of: node.layer, inputShapes)
            return (node.layer, name, node.inbound, inputShapes)
        }
    }

    static func tfKerasFunctional(_ model: FunctionalModel, inputShape: [Int]) throws -> JSON {
        let input = JSON.object([
            ("class_name", .string("InputLayer")),
            ("config", .object([("batch_input_shape", batchShape(inputShape)), ("dtype", .string("float32")),
                                ("sparse", .bool(false)), ("ragged", .bool(false)), ("name", .string(model.inputName)),
                                ("optional", .bool(false))])),
            ("name", .string(model.inputName)),
            ("inbound_nodes", .array([])),
        ])
        let layers = try walk(model, inputShape: inputShape, file: "model_config").map { layer, name, inbound, inputShapes in
            JSON.object([
                ("class_name", .string(layer.kerasClassName)),
                ("config", .object(try layerConfig(layer, name: name, inputShapes: inputShapes, flavor: .tfKeras))),
                ("name", .string(name)),
                ("inbound_nodes", .array([.array(inbound.map { .array([.string($0), .int(0), .int(0), .object([])]) })])),
            ])
        }
        return .object([
            ("name", .string(model.name ?? "model")),
            ("trainable", .bool(true)),
            ("layers", .array([input] + layers)),
            ("input_layers", .array([.array([.string(model.inputName), .int(0), .int(0)])])),
            ("output_layers", .array([.array([.string(model.outputName), .int(0), .int(0)])])),
        ])
    }

    /// Keras 3 `Functional.get_config()` (the `config` of a `.keras` archive's `config.json`), as
    /// Keras 3.15 serializes it: every layer with `module`, `registered_name`, the input shape for
    /// layers that define `build()` (`build_config`), and one inbound node of `__keras_tensor__`s.
    static func keras3Functional(_ model: FunctionalModel, inputShape: [Int]) throws -> JSON {
        // Keras 3 refuses `/` in layer names: tf-keras' `conv1/conv` is Keras 3's `conv1_conv`.
        // (Its weight paths go by class, not name, so the weights file is unaffected.)
        let rename = { (name: String) in name.replacingOccurrences(of: "/", with: "_") }
        let input = JSON.object([
            ("module", .string("keras.layers")), ("class_name", .string("InputLayer")),
            ("config", .object([("batch_shape", batchShape(inputShape)), ("dtype", .string("float32")), ("sparse", .bool(false)),
                                ("ragged", .bool(false)), ("name", .string(rename(model.inputName))), ("optional", .bool(false))])),
            ("registered_name", .null), ("name", .string(rename(model.inputName))), ("inbound_nodes", .array([])),
        ])
        let layers = try walk(model, inputShape: inputShape, file: "config.json").map { layer, name, inbound, inputShapes in
            let tensors = zip(inbound, inputShapes).map { source, shape in
                JSON.object([("class_name", .string("__keras_tensor__")),
                             ("config", .object([("shape", batchShape(shape)), ("dtype", .string("float32")),
                                                 ("keras_history", .array([.string(rename(source)), .int(0), .int(0)]))]))])
            }
            // A merge layer takes its inputs as one list argument; the others take one tensor.
            let args: [JSON] = layer is Concatenate ? [.array(tensors)] : tensors
            // BatchNormalization's call() has a `mask` argument, which the functional API records.
            let kwargs: [(String, JSON)] = layer is BatchNormalization ? [("mask", .null)] : []
            var members: [(String, JSON)] = [
                ("module", .string("keras.layers")), ("class_name", .string(layer.kerasClassName)),
                ("config", .object(try layerConfig(layer, name: rename(name), inputShapes: inputShapes, flavor: .keras3))),
                ("registered_name", .null),
            ]
            // Keras records the input shape of layers that define build(); the others have no build_config.
            if layer is ZeroPadding2D || layer is Conv2D || layer is BatchNormalization || layer is Concatenate
                || layer is Flatten || layer is Dense {
                let shapes = inputShapes.map(batchShape)
                members.append(("build_config", .object([("input_shape", shapes.count == 1 ? shapes[0] : .array(shapes))])))
            }
            return JSON.object(members + [
                ("name", .string(rename(name))),
                ("inbound_nodes", .array([.object([("args", .array(args)), ("kwargs", .object(kwargs))])])),
            ])
        }
        let endpoint = { (name: String) in JSON.array([.string(rename(name)), .int(0), .int(0)]) }
        return .object([
            ("name", .string(rename(model.name ?? "model"))),
            ("trainable", .bool(true)),
            ("layers", .array([input] + layers)),
            // One input and one output: Keras 3 writes the bare tensor reference, not a list of them.
            ("input_layers", endpoint(model.inputName)),
            ("output_layers", endpoint(model.outputName)),
        ])
    }

    /// Keras 3's float32 `DTypePolicy`, every layer's (and model's) `dtype`.
    static let keras3DTypePolicy = JSON.object([("module", .string("keras")), ("class_name", .string("DTypePolicy")),
                                                ("config", .object([("name", .string("float32"))])), ("registered_name", .null)])

    /// A per-sample shape with Keras' unknown batch dimension in front.
    private static func batchShape(_ shape: [Int]) -> JSON { .array([.null] + shape.map { .int($0) }) }

    private static func outputShape(of layer: any Layer, _ inputs: [[Int]]) throws -> [Int] {
        if let op = layer as? any Op { return try op.outputShape(for: inputs) }
        return inputs.first ?? []
    }

    private static func initializer(_ className: String, _ config: [(String, JSON)] = []) -> JSON {
        .object([("module", .string("keras.initializers")), ("class_name", .string(className)),
                 ("config", .object(config)), ("registered_name", .null)])
    }

    private static func pair(_ p: (Int, Int)) -> JSON { .array([.int(p.0), .int(p.1)]) }

    /// One layer's `get_config()` as tf-keras 2.21 or Keras 3.15 writes it. They differ in the dtype
    /// (a string vs a `DTypePolicy`), Glorot's options, BatchNormalization's extra options and axis
    /// form, and Dense's regularizers. Keras 3 axes are written as positive numbers, as Keras
    /// Applications passes them (`bn_axis = 3`).
    private static func layerConfig(_ layer: any Layer, name: String, inputShapes: [[Int]],
                                     flavor: KerasFlavor) throws -> [(String, JSON)] {
        let keras3 = flavor == .keras3
        let base: [(String, JSON)] = [("name", .string(name)), ("trainable", .bool(true)),
                                      ("dtype", keras3 ? keras3DTypePolicy : .string("float32"))]
        let glorot = initializer("GlorotUniform", [("seed", .null)] + (keras3 ? [("input_axes", .null), ("output_axes", .null)] : []))
        // The channel axis of the (batch-including) input.
        let channelAxis = (inputShapes.first?.count ?? 3)
        switch layer {
        case let conv as Conv2D:
            return base + [
                ("filters", .int(conv.filters)), ("kernel_size", pair(conv.kernelSize)), ("strides", pair(conv.strides)),
                ("padding", .string(conv.padding.rawValue)), ("data_format", .string("channels_last")),
                ("dilation_rate", .array([.int(1), .int(1)])), ("groups", .int(1)), ("activation", .string(conv.activation.rawValue)),
                ("use_bias", .bool(conv.useBias)), ("kernel_initializer", glorot),
                ("bias_initializer", initializer("Zeros")), ("kernel_regularizer", .null), ("bias_regularizer", .null),
                ("activity_regularizer", .null), ("kernel_constraint", .null), ("bias_constraint", .null),
            ]
        case let dense as Dense:
            return base + [
                ("units", .int(dense.units)), ("activation", .string(dense.activation.rawValue)), ("use_bias", .bool(dense.useBias)),
                ("kernel_initializer", glorot), ("bias_initializer", initializer("Zeros")),
                ("kernel_regularizer", .null), ("bias_regularizer", .null),
            ] + (keras3 ? [] : [("activity_regularizer", .null)]) + [
                ("kernel_constraint", .null), ("bias_constraint", .null),
            ] + (keras3 ? [("quantization_config", .null)] : [])
        case let bn as BatchNormalization:
            // tf-keras' get_config after build lists the normalised axes; Keras 3 keeps the integer given.
            return base + [
                ("axis", keras3 ? .int(channelAxis) : .array([.int(channelAxis)])),
                ("momentum", .double(Double(bn.momentum).roundedToFloat32Repr)),
                ("epsilon", .double(Double(bn.epsilon).roundedToFloat32Repr)), ("center", .bool(true)), ("scale", .bool(true)),
                ("beta_initializer", initializer("Zeros")), ("gamma_initializer", initializer("Ones")),
                ("moving_mean_initializer", initializer("Zeros")), ("moving_variance_initializer", initializer("Ones")),
                ("beta_regularizer", .null), ("gamma_regularizer", .null), ("beta_constraint", .null), ("gamma_constraint", .null),
            ] + (keras3 ? [("synchronized", .bool(false)), ("renorm", .bool(false)), ("renorm_clipping", .null),
                           ("renorm_momentum", .double(0.99))] : [])
        case let activation as Activation:
            return base + [("activation", .string(activation.function.rawValue))]
        case is ReLU:
            return base + [("max_value", .null), ("negative_slope", .double(0)), ("threshold", .double(0))]
        case is Concatenate:
            return base + [("axis", .int(keras3 ? channelAxis : -1))]
        case let pool as MaxPooling2D:
            return base + [("pool_size", pair(pool.poolSize)), ("padding", .string(pool.padding.rawValue)),
                           ("strides", pair(pool.strides)), ("data_format", .string("channels_last"))]
        case let pool as AveragePooling2D:
            return base + [("pool_size", pair(pool.poolSize)), ("padding", .string(pool.padding.rawValue)),
                           ("strides", pair(pool.strides)), ("data_format", .string("channels_last"))]
        case is GlobalAveragePooling2D, is GlobalMaxPooling2D:
            return base + [("data_format", .string("channels_last")), ("keepdims", .bool(false))]
        case is Flatten:
            return base + [("data_format", .string("channels_last"))]
        case let pad as ZeroPadding2D:
            return base + [("padding", .array([pair(pad.padding.0), pair(pad.padding.1)])), ("data_format", .string("channels_last"))]
        default:
            throw KerasFormatError(.wrongFormat, file: keras3 ? "config.json" : "model_config", layer: name,
                                   expected: "a layer densenet-io describes to Keras (\(KerasModelConfig.supportedLayers.joined(separator: ", ")))",
                                   found: "class \(layer.kerasClassName)")
        }
    }
}

extension Double {
    /// A float32 hyper-parameter (BatchNormalization's momentum, epsilon) as the Python float the
    /// user wrote: the shortest decimal that rounds to the same float32 (0.99f → 0.99).
    var roundedToFloat32Repr: Double { Double("\(Float(self))") ?? self }
}
