// Subclassed blocks of the tutorial DenseNet, a general functional container, and presets.

/// DenseUnit(f, k): bn = BatchNormalization(); conv = Conv2D(f, k, same); concat = Concatenate().
/// call: h = conv(relu(bn(x))); return concat([x, h])   (relu = tf.nn.relu, not a layer).
public final class DenseUnit: Layer {
    /// `DenseUnit`, the tutorial's Python class; Keras' automatic names derive from it.
    public let kerasClassName = "DenseUnit"
    /// An explicit name; nil lets Keras' automatic naming give `dense_unit`, `dense_unit_1`, ….
    public let name: String?
    /// The pre-activation normalization, applied to the unit's input.
    public let bn: BatchNormalization
    /// The convolution producing the unit's `filters` new channels (the growth rate).
    public let conv: Conv2D
    /// Joins the input and the new channels along the channel axis: the "dense" connection.
    public let concat: Concatenate

    /// A unit adding `filters` channels with a `kernelSize` convolution; `bnMomentum`, `bnEpsilon` and
    /// `movingVarianceUpdate` configure its BatchNormalization as Keras' arguments do.
    public init(
        filters: Int, kernelSize: (Int, Int) = (3, 3), bnMomentum: Double = 0.99, bnEpsilon: Double = 1e-3,
        movingVarianceUpdate: MovingVarianceUpdate = .besselCorrected, name: String? = nil
    ) {
        self.name = name
        bn = BatchNormalization(momentum: bnMomentum, epsilon: bnEpsilon, movingVarianceUpdate: movingVarianceUpdate)
        conv = Conv2D(filters: filters, kernelSize: kernelSize, padding: .same)
        concat = Concatenate()
    }

    /// Always empty: the unit's variables belong to `bn` and `conv`.
    public var ownVariables: [Variable] { [] }
    /// True: the tutorial subclasses `keras.Model`, which puts its sub-layers' weights before any of its own
    /// in tf-keras.
    public var isKerasModel: Bool { true }
    /// `bn`, `conv`, `concat`, in the order the tutorial assigns them.
    public var attributes: [LayerAttribute] { [.layer("bn", bn), .layer("conv", conv), .layer("concat", concat)] }

    /// `concat([x, conv(relu(bn(x)))])` for the one input `x`.
    public func call(_ inputs: [SymbolicTensor], in graph: GraphBuilder) throws -> SymbolicTensor {
        let x = inputs[0]
        let h = try conv.call([try graph.apply(ReLUOp(), [try bn.call([x], in: graph)])], in: graph)
        return try concat.call([x, h], in: graph)
    }
}

/// DenseLayer(units, growth, k): sequence = [DenseUnit(growth, k) x units] (a Python list attribute).
public final class DenseLayer: Layer {
    /// The tutorial's Python class name; Keras' automatic names derive from it.
    public let kerasClassName = "DenseLayer"
    /// An explicit name; nil lets Keras name it `dense_layer`, `dense_layer_1`, ….
    public let name: String?
    /// The units, applied in order, each seeing every earlier unit's channels.
    public let sequence: [DenseUnit]

    /// A block of `units` units each adding `growthRate` channels, so it adds `units × growthRate` channels
    /// in all.
    public init(
        units: Int, growthRate: Int, kernelSize: (Int, Int) = (3, 3), bnEpsilon: Double = 1e-3,
        movingVarianceUpdate: MovingVarianceUpdate = .besselCorrected, name: String? = nil
    ) {
        self.name = name
        sequence = (0..<units).map { _ in
            DenseUnit(filters: growthRate, kernelSize: kernelSize, bnEpsilon: bnEpsilon, movingVarianceUpdate: movingVarianceUpdate)
        }
    }

    /// Always empty: the variables belong to the units.
    public var ownVariables: [Variable] { [] }
    /// True: a `keras.Model` subclass in the tutorial.
    public var isKerasModel: Bool { true }
    /// The one Python list attribute `sequence`, which tf-keras orders trainable variables first across all
    /// units.
    public var attributes: [LayerAttribute] { [.list("sequence", sequence)] }

    /// The units applied one after the other to the one input.
    public func call(_ inputs: [SymbolicTensor], in graph: GraphBuilder) throws -> SymbolicTensor {
        var x = inputs[0]
        for u in sequence { x = try u.call([x], in: graph) }
        return x
    }
}

/// TransitionLayer(filters, k): conv = Conv2D(filters, k, same); pool = MaxPool2D().  call: pool(conv(x)).
public final class TransitionLayer: Layer {
    /// The tutorial's Python class name; Keras' automatic names derive from it.
    public let kerasClassName = "TransitionLayer"
    /// An explicit name; nil lets Keras name it `transition_layer`, `transition_layer_1`, ….
    public let name: String?
    /// The convolution that sets the channel count for the next block.
    public let conv: Conv2D
    /// The 2×2 max pooling that halves height and width.
    public let pool: MaxPooling2D

    /// A transition to `filters` channels through a `kernelSize` convolution.
    public init(filters: Int, kernelSize: (Int, Int) = (3, 3), name: String? = nil) {
        self.name = name
        conv = Conv2D(filters: filters, kernelSize: kernelSize, padding: .same)
        pool = MaxPooling2D()
    }

    /// Always empty: the variables belong to `conv`.
    public var ownVariables: [Variable] { [] }
    /// True: a `keras.Model` subclass in the tutorial.
    public var isKerasModel: Bool { true }
    /// `conv`, then `pool`.
    public var attributes: [LayerAttribute] { [.layer("conv", conv), .layer("pool", pool)] }

    /// `pool(conv(x))` for the one input `x`.
    public func call(_ inputs: [SymbolicTensor], in graph: GraphBuilder) throws -> SymbolicTensor {
        try pool.call([try conv.call(inputs, in: graph)], in: graph)
    }
}

/// The tutorial's subclassed DenseNet: conv1, then dl1, tr1, dl2, tr2, ..., dlN, flatten, dense1, ..., denseM.
public final class DenseNet: Layer {
    /// The tutorial's Python class name; Keras' automatic names derive from it.
    public let kerasClassName = "DenseNet"
    /// An explicit name; nil lets Keras name it `dense_net`.
    public let name: String?
    /// The stem convolution applied to the image.
    public let conv1: Conv2D
    /// The dense blocks, attributes `dl1`, `dl2`, ….
    public let denseLayers: [DenseLayer]
    /// The transitions between consecutive dense blocks, attributes `tr1`, `tr2`, …; one fewer than
    /// `denseLayers`.
    public let transitions: [TransitionLayer]
    /// Flattens the last block's feature map for the heads.
    public let flatten: Flatten
    /// The fully connected layers after `flatten`, attributes `dense1`, `dense2`, …; the last gives the class
    /// scores.
    public let heads: [Dense]

    /// A network from its parts; `transitions` must hold one fewer than `denseLayers` (a precondition:
    /// presets build it).
    public init(conv1: Conv2D, denseLayers: [DenseLayer], transitions: [TransitionLayer], heads: [Dense], name: String? = nil) {
        precondition(transitions.count + 1 == denseLayers.count, "one transition between consecutive dense layers")
        self.conv1 = conv1
        self.denseLayers = denseLayers
        self.transitions = transitions
        self.flatten = Flatten()
        self.heads = heads
        self.name = name
    }

    /// Always empty: the variables belong to the sub-layers.
    public var ownVariables: [Variable] { [] }
    /// True: a `keras.Model` subclass in the tutorial.
    public var isKerasModel: Bool { true }

    /// `conv1`, `dl1`, `tr1`, …, `dlN`, `flatten`, `dense1`, …, in the tutorial's assignment order, which
    /// fixes tf-keras' weight order.
    public var attributes: [LayerAttribute] {
        var a: [LayerAttribute] = [.layer("conv1", conv1)]
        for (i, dl) in denseLayers.enumerated() {
            a.append(.layer("dl\(i + 1)", dl))
            if i < transitions.count { a.append(.layer("tr\(i + 1)", transitions[i])) }
        }
        a.append(.layer("flatten", flatten))
        for (i, d) in heads.enumerated() { a.append(.layer("dense\(i + 1)", d)) }
        return a
    }

    /// The stem, each block followed by its transition, the flatten and the heads, on the one input image
    /// batch.
    public func call(_ inputs: [SymbolicTensor], in graph: GraphBuilder) throws -> SymbolicTensor {
        var x = try conv1.call(inputs, in: graph)
        for (i, dl) in denseLayers.enumerated() {
            x = try dl.call([x], in: graph)
            if i < transitions.count { x = try transitions[i].call([x], in: graph) }
        }
        x = try flatten.call([x], in: graph)
        for d in heads { x = try d.call([x], in: graph) }
        return x
    }

    /// The tutorial network (preset "densenet-mini"):
    /// conv1 = Conv2D(8, 3x3, same, relu); dl1 = DenseLayer(2, 4); tr1 = TransitionLayer(16);
    /// dl2 = DenseLayer(2, 8); tr2 = TransitionLayer(32); dl3 = DenseLayer(2, 16); flatten;
    /// dense1 = Dense(128, relu); dense2 = Dense(10, softmax).
    public static func mini(movingVarianceUpdate: MovingVarianceUpdate = .besselCorrected) -> DenseNet {
        DenseNet(
            conv1: Conv2D(filters: 8, kernelSize: (3, 3), padding: .same, activation: .relu),
            denseLayers: [
                DenseLayer(units: 2, growthRate: 4, movingVarianceUpdate: movingVarianceUpdate),
                DenseLayer(units: 2, growthRate: 8, movingVarianceUpdate: movingVarianceUpdate),
                DenseLayer(units: 2, growthRate: 16, movingVarianceUpdate: movingVarianceUpdate)
            ],
            transitions: [TransitionLayer(filters: 16), TransitionLayer(filters: 32)],
            heads: [Dense(units: 128, activation: .relu), Dense(units: 10, activation: .softmax)])
    }
}

/// A Keras functional model: named layers applied in order, each node naming its inbound layers
/// (or the input). Keras' `layers` order = `nodes` order (the InputLayer has no weights).
public final class FunctionalModel: Layer {
    /// One layer of the model and the names of the tensors it takes.
    public struct Node {
        /// The layer; it must have a name, under which later nodes refer to its output.
        public let layer: any Layer
        /// Names of inbound layers (or `inputName`); the layer must have a name.
        public let inbound: [String]
        /// `layer` applied to the outputs named `inbound`, as a Keras config's `inbound_nodes` lists them.
        public init(_ layer: any Layer, _ inbound: [String]) {
            self.layer = layer
            self.inbound = inbound
        }
    }

    /// `Functional`, the class name of a model built with `keras.Model(inputs, outputs)`.
    public let kerasClassName = "Functional"
    /// The model's name, e.g. `densenet121`; nil leaves it to Keras' automatic naming.
    public let name: String?
    /// The name that nodes use for the model's input tensor: `input_1` (tf-keras) or `input_layer` (Keras 3).
    public let inputName: String
    /// The layers in Keras' `model.layers` order, each after the layers it takes its inputs from.
    public let nodes: [Node]
    /// The name of the layer whose output is the model's output.
    public let outputName: String

    /// A model over `nodes` (in an order where each node's inbound layers come first) from `inputName` to
    /// `outputName`.
    public init(name: String?, inputName: String = "input_1", nodes: [Node], outputName: String) {
        self.name = name
        self.inputName = inputName
        self.nodes = nodes
        self.outputName = outputName
    }

    /// Always empty: the variables belong to the nodes' layers.
    public var ownVariables: [Variable] { [] }
    /// True: a functional model is a `keras.Model`.
    public var isKerasModel: Bool { true }
    /// One attribute per layer, named by the layer's name (Keras tracks functional layers individually).
    public var attributes: [LayerAttribute] { nodes.map { .layer($0.layer.name ?? "", $0.layer) } }

    /// Applies the nodes in order, each to the outputs it names, and returns `outputName`'s.
    ///
    /// - Throws: `EngineError.invalidArgument` for an unnamed layer, or an inbound or output name no earlier
    ///   node produced.
    public func call(_ inputs: [SymbolicTensor], in graph: GraphBuilder) throws -> SymbolicTensor {
        var table: [String: SymbolicTensor] = [inputName: inputs[0]]
        for n in nodes {
            guard let nm = n.layer.name else { throw EngineError.invalidArgument("functional layers need names") }
            let ins = try n.inbound.map { s -> SymbolicTensor in
                guard let t = table[s] else { throw EngineError.invalidArgument("unknown inbound layer \(s) for \(nm)") }
                return t
            }
            table[nm] = try n.layer.call(ins, in: graph)
        }
        guard let out = table[outputName] else { throw EngineError.invalidArgument("unknown output \(outputName)") }
        return out
    }
}
