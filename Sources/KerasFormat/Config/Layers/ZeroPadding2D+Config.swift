import DenseNetEngine

extension ZeroPadding2D: KerasLayerCodec {
    static var configClassName: String { "ZeroPadding2D" }
    static var hasBuildConfig: Bool { true }

    func config(_ writer: LayerConfigWriter) -> [(String, JSON)] {
        writer.base + [("padding", .array([writer.pair(padding.0), writer.pair(padding.1)])), ("data_format", .string("channels_last"))]
    }

    /// `padding` as Keras takes it: one integer, one per axis, or a (before, after) pair per axis.
    static func make(from config: LayerConfig) throws -> ZeroPadding2D {
        try config.requireChannelsLast()
        let p = config["padding"]
        if let n = p?.intValue { return ZeroPadding2D(padding: n, name: config.name) }
        if let l = LayerConfig.ints(p), l.count == 2 { return ZeroPadding2D(padding: ((l[0], l[0]), (l[1], l[1])), name: config.name) }
        if let l = p?.arrayValue?.compactMap(LayerConfig.ints), l.count == 2, l.allSatisfy({ $0.count == 2 }) {
            return ZeroPadding2D(padding: ((l[0][0], l[0][1]), (l[1][0], l[1][1])), name: config.name)
        }
        throw config.failure("padding as an integer, two integers or two pairs", p)
    }
}
