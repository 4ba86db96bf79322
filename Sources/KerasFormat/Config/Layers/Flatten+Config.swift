import DenseNetEngine

extension Flatten: KerasLayerCodec {
    static var configClassName: String { "Flatten" }
    static var hasBuildConfig: Bool { true }

    func config(_ writer: LayerConfigWriter) -> [(String, JSON)] {
        writer.base + [("data_format", .string("channels_last"))]
    }

    static func make(from config: LayerConfig) throws -> Flatten {
        try config.requireChannelsLast()
        return Flatten(name: config.name)
    }
}
