import DenseNetEngine

extension Conv2D: KerasLayerCodec {
    static var configClassName: String { "Conv2D" }
    static var hasBuildConfig: Bool { true }

    func config(_ writer: LayerConfigWriter) -> [(String, JSON)] {
        writer.base + [
            ("filters", .int(filters)), ("kernel_size", writer.pair(kernelSize)), ("strides", writer.pair(strides)),
            ("padding", .string(padding.rawValue)), ("data_format", .string("channels_last")),
            ("dilation_rate", .array([.int(1), .int(1)])), ("groups", .int(1)), ("activation", .string(activation.rawValue)),
            ("use_bias", .bool(useBias)), ("kernel_initializer", writer.glorotUniform),
            ("bias_initializer", writer.initializer("Zeros")), ("kernel_regularizer", .null), ("bias_regularizer", .null),
            ("activity_regularizer", .null), ("kernel_constraint", .null), ("bias_constraint", .null)
        ]
    }

    static func make(from config: LayerConfig) throws -> Conv2D {
        try config.requireChannelsLast()
        guard try config.pair("dilation_rate", (1, 1)) == (1, 1) else { throw config.failure("dilation_rate 1", config["dilation_rate"]) }
        if let groups = config["groups"]?.intValue, groups != 1 { throw config.failure("groups 1", "\(groups)") }
        return Conv2D(
            filters: try config.int("filters"), kernelSize: try config.pair("kernel_size"),
            strides: try config.pair("strides", (1, 1)), padding: try config.padding(), useBias: config.bool("use_bias", true),
            activation: try config.activation([.linear, .relu]), name: config.name)
    }
}
