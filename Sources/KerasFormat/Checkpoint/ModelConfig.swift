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

    /// tf-keras `training_config` for `optimizer` + SparseCategoricalCrossentropy + accuracy (what the
    /// tutorial compiles), as `model.save` writes it.
    public static func tfKerasTraining(_ optimizer: OptimizerConfig) -> JSON {
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
            ("optimizer_config", optimizer.tfKerasDescription)
        ])
    }

    /// The optimizer of a `training_config` (tf-keras) or `compile_config` (Keras 3); nil for a model
    /// compiled without one. Throws for optimizers and options the engine does not implement.
    public static func optimizer(fromTraining config: JSON, file: String) throws -> OptimizerConfig? {
        guard let optimizer = config["optimizer_config"] ?? config["optimizer"], optimizer != .null else { return nil }
        return try OptimizerConfig(keras: optimizer, file: file)
    }

    /// Keras 3's float32 `DTypePolicy`, every layer's (and model's) `dtype`.
    static let keras3DTypePolicy = JSON.object([
        ("module", .string("keras")), ("class_name", .string("DTypePolicy")),
        ("config", .object([("name", .string("float32"))])), ("registered_name", .null)
    ])
}
