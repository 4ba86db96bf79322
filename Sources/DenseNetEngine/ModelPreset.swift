/// An architecture the toolkit builds by name (the CLI's `--model`).
public struct ModelPreset: Sendable {
    /// The name the CLI's `--model` takes, e.g. `densenet-mini` or `densenet121`.
    public let name: String
    /// One line for `--help` and listings.
    public let summary: String
    /// The per-sample input shape used unless the caller gives one.
    public let defaultInputShape: [Int]
    /// The class count used unless the caller gives one.
    public let defaultClasses: Int
    private let makeRoot: @Sendable (Arguments) throws -> any Layer

    /// What a preset is built for, in Keras Applications' terms (`input_shape`, `classes`,
    /// `include_top`, `pooling`). As in Keras, `classes` only matters with the top and `pooling`
    /// only without it.
    public struct Arguments: Sendable, Equatable {
        /// Per-sample input shape (Keras' `input_shape`).
        public var inputShape: [Int]
        /// Classes of the classifier (Keras' `classes`).
        public var classes: Int
        /// Whether the classifier is built (Keras' `include_top`).
        public var includeTop: Bool
        /// Global pooling without the top (Keras' `pooling`); nil leaves the feature map.
        public var pooling: DenseNetPooling?
        /// Keras Applications' `DenseNet(blocks=…)`: the four dense blocks' layer counts replacing the
        /// preset's (torchvision's `block_config`); nil keeps them.
        public var blocks: [Int]? = nil
    }

    /// A preset called `name` whose layer tree `makeRoot` builds for the arguments given.
    public init(
        name: String, summary: String, defaultInputShape: [Int], defaultClasses: Int,
        makeRoot: @escaping @Sendable (Arguments) throws -> any Layer
    ) {
        self.name = name
        self.summary = summary
        self.defaultInputShape = defaultInputShape
        self.defaultClasses = defaultClasses
        self.makeRoot = makeRoot
    }

    /// Builds the model (variables initialised from `seed`) for `inputShape` and `classes`, each
    /// defaulting to the preset's own, with or without its classifier (`includeTop`, `pooling`), with
    /// other dense-block counts (`blocks`, Keras Applications' DenseNets only), running on `parallel`'s workers.
    public func build(
        inputShape: [Int]? = nil, classes: Int? = nil, includeTop: Bool = true, pooling: DenseNetPooling? = nil,
        blocks: [Int]? = nil, seed: UInt64 = 0, parallel: Parallel = .automatic()
    ) throws -> Model {
        let arguments = Arguments(
            inputShape: inputShape ?? defaultInputShape, classes: classes ?? defaultClasses,
            includeTop: includeTop, pooling: pooling, blocks: blocks)
        return try Model(root: makeRoot(arguments), inputShape: arguments.inputShape, seed: seed, parallel: parallel)
    }

    /// Every preset, by name.
    public static let all: [ModelPreset] =
        [
            ModelPreset(
                name: "densenet-mini", summary: "the tutorial DenseNet (tf.keras subclassed model)",
                defaultInputShape: [28, 28, 1], defaultClasses: 10
            ) { arguments in
                guard arguments.classes == 10 else {
                    throw EngineError.invalidArgument("densenet-mini has 10 classes, as the tutorial; got \(arguments.classes)")
                }
                guard arguments.blocks == nil else {
                    throw EngineError.invalidArgument("densenet-mini has its own blocks; blocks are for densenet121/169/201")
                }
                guard arguments.includeTop else {
                    throw EngineError.invalidArgument(
                        "densenet-mini always has its classifier (include_top and pooling are Keras Applications' options)")
                }
                return DenseNet.mini()
            }
        ] + DenseNetApplication.presets

    /// The preset called `name`; the error lists the known names.
    public static func named(_ name: String) throws -> ModelPreset {
        guard let preset = all.first(where: { $0.name == name }) else {
            throw EngineError.invalidArgument("unknown model \(name); known models: \(all.map(\.name).joined(separator: ", "))")
        }
        return preset
    }
}
