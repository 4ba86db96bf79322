import DenseNetEngine

// A Keras model config (tf-keras' `model_config`, Keras 3's `config.json`) lists a functional
// model's layers as `{"class_name", "config", "name", "inbound_nodes"}`. Keras gives each layer
// class a `get_config()` / `from_config()` pair; here each layer kind has one conformance in
// `Layers/<Class>+Config.swift` holding both, and `KerasLayerCodecs.all` lists them for the reader
// (`KerasModelConfig`) and the writer (`ModelConfig+Functional.swift`) alike. The written configs
// are compared byte for byte with Keras' own (ConfigTests, CheckpointTests, FunctionalArchiveTests,
// KerasArchiveTests); KerasLayerCodecTests round-trips a sample of every registered kind.

/// A layer kind as Keras model configs describe it: the pair Keras' own layers define,
/// `get_config()` (as tf-keras 2.21 or Keras 3.15 writes it) and `from_config()` (with the checks
/// for options the engine does not implement). One conformance per file in `Config/Layers/`,
/// listed in `KerasLayerCodecs.all`, which the config writer (`ModelConfig`) and reader
/// (`KerasModelConfig`) both go through.
protocol KerasLayerCodec: Layer {
    /// The config's `class_name` (the layer's `kerasClassName`).
    static var configClassName: String { get }
    /// Whether the Keras layer defines `build()`: Keras 3 then records its input shape (`build_config`).
    static var hasBuildConfig: Bool { get }
    /// Whether Keras 3's functional API passes the inputs as one list argument (merge layers)
    /// rather than one tensor each.
    static var takesInputList: Bool { get }
    /// Keyword arguments of `call()` that Keras 3's functional API records with every call.
    static var callKeywords: [(String, JSON)] { get }

    /// `get_config()`: the layer's `config` object as `writer.flavor`'s Keras writes it.
    func config(_ writer: LayerConfigWriter) -> [(String, JSON)]
    /// `from_config()`: the layer a config describes, or a `KerasFormatError` naming the layer and
    /// the option the engine does not implement.
    static func make(from config: LayerConfig) throws -> Self
}

extension KerasLayerCodec {
    static var hasBuildConfig: Bool { false }
    static var takesInputList: Bool { false }
    static var callKeywords: [(String, JSON)] { [] }
}

/// The layer kinds densenet-io reads from and writes to Keras configs. A new kind is one file in
/// `Config/Layers/` and one line here.
enum KerasLayerCodecs {
    static var all: [any KerasLayerCodec.Type] {
        [
            InputLayer.self, ZeroPadding2D.self, Conv2D.self, BatchNormalization.self, Activation.self, ReLU.self,
            MaxPooling2D.self, AveragePooling2D.self, Concatenate.self, GlobalAveragePooling2D.self,
            GlobalMaxPooling2D.self, Flatten.self, Dense.self
        ]
    }

    /// The codec of the layer class a config names.
    static func codec(named className: String) -> (any KerasLayerCodec.Type)? {
        all.first { $0.configClassName == className }
    }

    /// `layer` as a layer kind of the registry, nil for any other (a subclassed block, say).
    static func codable(_ layer: any Layer) -> (any KerasLayerCodec)? {
        guard all.contains(where: { ObjectIdentifier($0) == ObjectIdentifier(type(of: layer)) }) else { return nil }
        return layer as? any KerasLayerCodec
    }
}
