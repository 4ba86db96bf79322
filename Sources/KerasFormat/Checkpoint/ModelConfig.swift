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
/// Functional models are written layer by layer through the same codecs the reader
/// (`KerasModelConfig`) builds layers with (`ModelConfig+Functional.swift`, `Config/Layers/`).
public enum ModelConfig {
    /// tf-keras `model_config` of `model` (`{"class_name": …, "config": …}`).
    public static func tfKeras(_ model: Model) throws -> JSON {
        let root = model.root
        if let functional = root as? FunctionalModel {
            return .object([
                ("class_name", .string("Functional")), ("config", try tfKerasFunctional(functional, inputShape: model.inputShape))
            ])
        }
        return .object([("class_name", .string(root.kerasClassName)), ("config", .object([]))])
    }

    /// tf-keras `training_config` for Adam + SparseCategoricalCrossentropy + accuracy (what the
    /// tutorial compiles), as `model.save` writes it.
    public static func tfKerasTraining(_ adam: AdamConfig) -> JSON {
        .object([
            (
                "loss",
                .object([
                    ("class_name", .string("SparseCategoricalCrossentropy")),
                    (
                        "config",
                        .object([
                            ("reduction", .string("auto")), ("name", .string("sparse_categorical_crossentropy")),
                            ("from_logits", .bool(false)), ("ignore_class", .null),
                            ("fn", .string("sparse_categorical_crossentropy"))
                        ])
                    )
                ])
            ),
            (
                "metrics",
                .array([
                    .array([
                        .object([
                            ("class_name", .string("MeanMetricWrapper")),
                            (
                                "config",
                                .object([
                                    ("name", .string("accuracy")), ("dtype", .string("float32")),
                                    ("fn", .string("sparse_categorical_accuracy"))
                                ])
                            )
                        ])
                    ])
                ])
            ),
            ("weighted_metrics", .null),
            ("loss_weights", .null),
            (
                "optimizer_config",
                .object([
                    ("class_name", .string("Custom>Adam")),
                    (
                        "config",
                        .object([
                            ("name", .string("Adam")), ("weight_decay", .null), ("clipnorm", .null), ("global_clipnorm", .null),
                            ("clipvalue", .null), ("use_ema", .bool(false)), ("ema_momentum", .double(0.99)),
                            ("ema_overwrite_frequency", .null), ("jit_compile", .bool(false)), ("is_legacy_optimizer", .bool(false)),
                            // A float32 variable in Keras, so written at float32 precision.
                            ("learning_rate", .double(Double(Float(adam.learningRate)))),
                            ("beta_1", .double(adam.beta1)), ("beta_2", .double(adam.beta2)), ("epsilon", .double(adam.epsilon)),
                            ("amsgrad", .bool(false))
                        ])
                    )
                ])
            )
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
            throw KerasFormatError(
                .wrongFormat, file: file, layer: "optimizer",
                expected: "the Adam optimizer (the only one the toolkit trains with)", found: "\(className)")
        }
        let options = optimizer["config"] ?? .object([])
        for flag in ["amsgrad", "use_ema"] where options[flag] == .bool(true) {
            throw KerasFormatError(.wrongFormat, file: file, layer: "optimizer", expected: "Adam without \(flag)", found: "\(flag) = true")
        }
        for option in ["weight_decay", "clipnorm", "global_clipnorm", "clipvalue"] {
            if let value = options[option], value != .null {
                throw KerasFormatError(
                    .wrongFormat, file: file, layer: "optimizer", expected: "Adam without \(option)", found: "\(option) = \(value)")
            }
        }
        func number(_ key: String, _ fallback: Double) throws -> Double {
            guard let value = options[key] else { return fallback }
            guard let d = value.doubleValue else {
                throw KerasFormatError(
                    .wrongFormat, file: file, layer: "optimizer", expected: "a number for \(key) (no schedules)", found: "\(value)")
            }
            return d
        }
        return AdamConfig(
            learningRate: try number("learning_rate", 0.001), beta1: try number("beta_1", 0.9),
            beta2: try number("beta_2", 0.999), epsilon: try number("epsilon", 1e-7))
    }

    /// Keras 3's float32 `DTypePolicy`, every layer's (and model's) `dtype`.
    static let keras3DTypePolicy = JSON.object([
        ("module", .string("keras")), ("class_name", .string("DTypePolicy")),
        ("config", .object([("name", .string("float32"))])), ("registered_name", .null)
    ])
}
