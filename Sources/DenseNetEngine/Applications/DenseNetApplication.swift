// Keras Applications' DenseNets (Huang et al. 2017) as functional models with Keras' own layer names.

/// Global pooling after the last block when the classifier is left out (`pooling=` in Keras).
public enum DenseNetPooling: String, Sendable, CaseIterable {
    /// `avg` adds GlobalAveragePooling2D `avg_pool`, `max` GlobalMaxPooling2D `max_pool`, so the output is
    /// one vector of channels.
    case avg, max
}

/// The arguments of Keras Applications' `DenseNet(blocks, include_top, input_shape, pooling,
/// classes, classifier_activation)` (`weights` is not an architecture argument: load a file instead).
public struct DenseNetOptions: Sendable, Equatable {
    /// Conv blocks in each of the four dense blocks: DenseNet-121 is [6, 12, 24, 16].
    public var blocks: [Int]
    /// Global average pooling and the `predictions` Dense layer.
    public var includeTop: Bool
    /// Per-sample input shape, H and W at least 32.
    public var inputShape: [Int]
    /// Output classes of the `predictions` layer (only with the top; Keras' default 1000, ImageNet's).
    public var classes: Int
    /// Only without the top: nil leaves the last block's feature map as the output.
    public var pooling: DenseNetPooling?
    /// The `predictions` activation: softmax (Keras' default) or linear (`classifier_activation=None`).
    public var classifierActivation: ActivationFunction
    /// Whose names and BatchNorm update: `conv1/conv` and input_1 (tf-keras) or `conv1_conv` and input_layer (Keras 3).
    public var flavor: KerasFlavor
    /// The model's name; nil = Keras' ("densenet121", "densenet169", "densenet201" or "densenet").
    public var name: String?

    /// Options with Keras Applications' defaults: ImageNet's 224 × 224 × 3 input and 1000 classes, with the
    /// top, Keras 3's names.
    public init(
        blocks: [Int], includeTop: Bool = true, inputShape: [Int] = [224, 224, 3], classes: Int = 1000,
        pooling: DenseNetPooling? = nil, classifierActivation: ActivationFunction = .softmax,
        flavor: KerasFlavor = .keras3, name: String? = nil
    ) {
        self.blocks = blocks
        self.includeTop = includeTop
        self.inputShape = inputShape
        self.classes = classes
        self.pooling = pooling
        self.classifierActivation = classifierActivation
        self.flavor = flavor
        self.name = name
    }
}

/// Builders of Keras Applications' DenseNet family, layer for layer as
/// `keras/src/applications/densenet.py` (and tf-keras' copy) builds it:
///
/// - stem: ZeroPadding2D(3) → Conv2D(64, 7, strides 2, valid, no bias) `conv1_conv` → BN `conv1_bn`
///   → relu `conv1_relu` → ZeroPadding2D(1) → MaxPooling2D(3, strides 2) `pool1`;
/// - dense block `convN`, conv block `convN_blockI`: BN `_0_bn` → relu `_0_relu` → Conv2D(128, 1)
///   `_1_conv` → BN `_1_bn` → relu `_1_relu` → Conv2D(32, 3, same) `_2_conv` → Concatenate([x, x1])
///   `_concat`;
/// - transition `poolN`: BN `_bn` → relu `_relu` → Conv2D(channels / 2, 1) `_conv` →
///   AveragePooling2D(2, strides 2) `_pool`;
/// - head: BN `bn` → relu `relu` → GlobalAveragePooling2D `avg_pool` → Dense(classes) `predictions`
///   (or, without the top, optional `avg_pool` / `max_pool`).
///
/// Every BatchNormalization has epsilon 1.001e-5 and momentum 0.99; no convolution has a bias.
public enum DenseNetApplication {
    /// DenseNet-121's conv blocks per dense block.
    public static let densenet121Blocks = [6, 12, 24, 16]
    /// DenseNet-169's conv blocks per dense block.
    public static let densenet169Blocks = [6, 12, 32, 32]
    /// DenseNet-201's conv blocks per dense block.
    public static let densenet201Blocks = [6, 12, 48, 32]
    /// Channels each conv block adds (the paper's k = 32).
    public static let growthRate = 32
    /// Every BatchNormalization's epsilon in Keras' DenseNets (1.001e-5, not Keras' default 1e-3).
    public static let epsilon = 1.001e-5

    /// Keras' model name for these blocks.
    public static func kerasName(blocks: [Int]) -> String {
        switch blocks {
        case densenet121Blocks: return "densenet121"
        case densenet169Blocks: return "densenet169"
        case densenet201Blocks: return "densenet201"
        default: return "densenet"
        }
    }

    /// The functional model `DenseNet(blocks, ...)` builds (variables are created when a `Model` is built).
    public static func build(_ options: DenseNetOptions) throws -> FunctionalModel {
        let o = options
        guard o.blocks.count == 4, o.blocks.allSatisfy({ $0 >= 1 }) else {
            throw EngineError.invalidArgument("DenseNet needs four positive block counts, got \(o.blocks)")
        }
        // Keras' obtain_input_shape(min_size=32) checks, in its words.
        guard o.inputShape.count == 3, o.inputShape[2] >= 1 else {
            throw EngineError.invalidArgument("DenseNet: input_shape must be three integers H,W,C; received input_shape=\(o.inputShape)")
        }
        guard o.inputShape[0] >= 32, o.inputShape[1] >= 32 else {
            throw EngineError.invalidArgument("DenseNet: input size must be at least 32x32; received input_shape=\(o.inputShape)")
        }
        if o.includeTop {
            guard o.classes >= 1 else { throw EngineError.invalidArgument("DenseNet needs at least one class") }
            guard o.classifierActivation != .relu else {
                throw EngineError.invalidArgument("DenseNet's classifier activation is softmax or linear")
            }
        }
        let update = o.flavor.movingVarianceUpdate
        var nodes: [FunctionalModel.Node] = []
        var last = o.flavor.defaultInputName
        var channels = o.inputShape[2]
        /// Appends a layer applied to `inputs` (default: the previous layer's output).
        func add(_ layer: any Layer, _ inputs: [String]? = nil) {
            nodes.append(FunctionalModel.Node(layer, inputs ?? [last]))
            last = layer.name!
        }
        func bn(_ name: String) -> BatchNormalization {
            BatchNormalization(momentum: 0.99, epsilon: epsilon, movingVarianceUpdate: update, name: name)
        }
        let stem = o.flavor == .tfKeras ? "conv1/" : "conv1_"
        add(InputLayer(shape: o.inputShape, name: last), [last])
        add(ZeroPadding2D(padding: 3, name: "zero_padding2d"))
        add(Conv2D(filters: 64, kernelSize: (7, 7), strides: (2, 2), padding: .valid, useBias: false, name: stem + "conv"))
        add(bn(stem + "bn"))
        add(Activation(.relu, name: stem + "relu"))
        add(ZeroPadding2D(padding: 1, name: "zero_padding2d_1"))
        add(MaxPooling2D(poolSize: (3, 3), strides: (2, 2), name: "pool1"))
        channels = 64
        for (index, count) in o.blocks.enumerated() {
            let block = "conv\(index + 2)"
            for unit in 1...count {
                let name = "\(block)_block\(unit)"
                let blockInput = last
                add(bn(name + "_0_bn"))
                add(Activation(.relu, name: name + "_0_relu"))
                add(Conv2D(filters: 4 * growthRate, kernelSize: (1, 1), useBias: false, name: name + "_1_conv"))
                add(bn(name + "_1_bn"))
                add(Activation(.relu, name: name + "_1_relu"))
                add(Conv2D(filters: growthRate, kernelSize: (3, 3), padding: .same, useBias: false, name: name + "_2_conv"))
                add(Concatenate(name: name + "_concat"), [blockInput, last])
                channels += growthRate
            }
            if index < 3 {
                let name = "pool\(index + 2)"
                add(bn(name + "_bn"))
                add(Activation(.relu, name: name + "_relu"))
                channels = Int(Double(channels) * 0.5)
                add(Conv2D(filters: channels, kernelSize: (1, 1), useBias: false, name: name + "_conv"))
                add(AveragePooling2D(poolSize: (2, 2), strides: (2, 2), name: name + "_pool"))
            }
        }
        add(bn("bn"))
        add(Activation(.relu, name: "relu"))
        if o.includeTop {
            add(GlobalAveragePooling2D(name: "avg_pool"))
            add(Dense(units: o.classes, activation: o.classifierActivation, name: "predictions"))
        } else if o.pooling == .avg {
            add(GlobalAveragePooling2D(name: "avg_pool"))
        } else if o.pooling == .max {
            add(GlobalMaxPooling2D(name: "max_pool"))
        }
        return FunctionalModel(
            name: o.name ?? kerasName(blocks: o.blocks), inputName: o.flavor.defaultInputName,
            nodes: nodes, outputName: last)
    }

    /// `DenseNet121(include_top, input_shape, pooling, classes)`.
    public static func densenet121(
        includeTop: Bool = true, inputShape: [Int] = [224, 224, 3], classes: Int = 1000,
        pooling: DenseNetPooling? = nil, flavor: KerasFlavor = .keras3
    ) throws -> FunctionalModel {
        try build(
            DenseNetOptions(
                blocks: densenet121Blocks, includeTop: includeTop, inputShape: inputShape,
                classes: classes, pooling: pooling, flavor: flavor))
    }

    /// `DenseNet169(include_top, input_shape, pooling, classes)`.
    ///
    /// - Throws: `EngineError.invalidArgument` for an input shape other than H × W × C of at least 32 × 32,
    ///   or no classes.
    public static func densenet169(
        includeTop: Bool = true, inputShape: [Int] = [224, 224, 3], classes: Int = 1000,
        pooling: DenseNetPooling? = nil, flavor: KerasFlavor = .keras3
    ) throws -> FunctionalModel {
        try build(
            DenseNetOptions(
                blocks: densenet169Blocks, includeTop: includeTop, inputShape: inputShape,
                classes: classes, pooling: pooling, flavor: flavor))
    }

    /// `DenseNet201(include_top, input_shape, pooling, classes)`.
    ///
    /// - Throws: `EngineError.invalidArgument` for an input shape other than H × W × C of at least 32 × 32,
    ///   or no classes.
    public static func densenet201(
        includeTop: Bool = true, inputShape: [Int] = [224, 224, 3], classes: Int = 1000,
        pooling: DenseNetPooling? = nil, flavor: KerasFlavor = .keras3
    ) throws -> FunctionalModel {
        try build(
            DenseNetOptions(
                blocks: densenet201Blocks, includeTop: includeTop, inputShape: inputShape,
                classes: classes, pooling: pooling, flavor: flavor))
    }

    /// The presets `densenet121`, `densenet169`, `densenet201` (Keras 3 names).
    static var presets: [ModelPreset] {
        [
            ("densenet121", densenet121Blocks, "DenseNet-121"), ("densenet169", densenet169Blocks, "DenseNet-169"),
            ("densenet201", densenet201Blocks, "DenseNet-201")
        ].map { name, blocks, title in
            ModelPreset(
                name: name, summary: "\(title), Keras Applications (k = 32, 224×224×3, 1000 classes by default)",
                defaultInputShape: [224, 224, 3], defaultClasses: 1000
            ) { a in
                try build(
                    DenseNetOptions(
                        blocks: a.blocks ?? blocks, includeTop: a.includeTop, inputShape: a.inputShape, classes: a.classes,
                        pooling: a.pooling))
            }
        }
    }
}
