import DenseNetEngine

extension Dense: KerasLayerCodec {
    static var configClassName: String { "Dense" }
    static var hasBuildConfig: Bool { true }

    /// Keras 3 dropped `activity_regularizer` from the config and added `quantization_config`.
    func config(_ writer: LayerConfigWriter) -> [(String, JSON)] {
        writer.base + [
            ("units", .int(units)), ("activation", .string(activation.rawValue)), ("use_bias", .bool(useBias)),
            ("kernel_initializer", writer.glorotUniform), ("bias_initializer", writer.initializer("Zeros")),
            ("kernel_regularizer", .null), ("bias_regularizer", .null)
        ] + (writer.isKeras3 ? [] : [("activity_regularizer", .null)]) + [
            ("kernel_constraint", .null), ("bias_constraint", .null)
        ] + (writer.isKeras3 ? [("quantization_config", .null)] : [])
    }

    static func make(from config: LayerConfig) throws -> Dense {
        Dense(
            units: try config.int("units"), activation: try config.activation([.linear, .relu, .softmax]),
            useBias: config.bool("use_bias", true), name: config.name)
    }
}
