// Subclassed blocks of the tutorial DenseNet, a general functional container, and presets.

/// DenseUnit(f, k): bn = BatchNormalization(); conv = Conv2D(f, k, same); concat = Concatenate().
/// call: h = conv(relu(bn(x))); return concat([x, h])   (relu = tf.nn.relu, not a layer).
public final class DenseUnit: Layer {
    public let kerasClassName = "DenseUnit"
    public let name: String?
    public let bn: BatchNormalization
    public let conv: Conv2D
    public let concat: Concatenate

    public init(
        filters: Int, kernelSize: (Int, Int) = (3, 3), bnMomentum: Double = 0.99, bnEpsilon: Double = 1e-3,
        movingVarianceUpdate: MovingVarianceUpdate = .besselCorrected, name: String? = nil
    ) {
        self.name = name
        bn = BatchNormalization(momentum: bnMomentum, epsilon: bnEpsilon, movingVarianceUpdate: movingVarianceUpdate)
        conv = Conv2D(filters: filters, kernelSize: kernelSize, padding: .same)
        concat = Concatenate()
    }

    public var ownVariables: [Variable] { [] }
    public var isKerasModel: Bool { true }
    public var attributes: [LayerAttribute] { [.layer("bn", bn), .layer("conv", conv), .layer("concat", concat)] }

    public func call(_ inputs: [SymbolicTensor], in graph: GraphBuilder) throws -> SymbolicTensor {
        let x = inputs[0]
        let h = try conv.call([try graph.apply(ReLUOp(), [try bn.call([x], in: graph)])], in: graph)
        return try concat.call([x, h], in: graph)
    }
}

/// DenseLayer(units, growth, k): sequence = [DenseUnit(growth, k) x units] (a Python list attribute).
public final class DenseLayer: Layer {
    public let kerasClassName = "DenseLayer"
    public let name: String?
    public let sequence: [DenseUnit]

    public init(
        units: Int, growthRate: Int, kernelSize: (Int, Int) = (3, 3), bnEpsilon: Double = 1e-3,
        movingVarianceUpdate: MovingVarianceUpdate = .besselCorrected, name: String? = nil
    ) {
        self.name = name
        sequence = (0..<units).map { _ in
            DenseUnit(filters: growthRate, kernelSize: kernelSize, bnEpsilon: bnEpsilon, movingVarianceUpdate: movingVarianceUpdate)
        }
    }

    public var ownVariables: [Variable] { [] }
    public var isKerasModel: Bool { true }
    public var attributes: [LayerAttribute] { [.list("sequence", sequence)] }

    public func call(_ inputs: [SymbolicTensor], in graph: GraphBuilder) throws -> SymbolicTensor {
        var x = inputs[0]
        for u in sequence { x = try u.call([x], in: graph) }
        return x
    }
}

/// TransitionLayer(filters, k): conv = Conv2D(filters, k, same); pool = MaxPool2D().  call: pool(conv(x)).
public final class TransitionLayer: Layer {
    public let kerasClassName = "TransitionLayer"
    public let name: String?
    public let conv: Conv2D
    public let pool: MaxPooling2D

    public init(filters: Int, kernelSize: (Int, Int) = (3, 3), name: String? = nil) {
        self.name = name
        conv = Conv2D(filters: filters, kernelSize: kernelSize, padding: .same)
        pool = MaxPooling2D()
    }

    public var ownVariables: [Variable] { [] }
    public var isKerasModel: Bool { true }
    public var attributes: [LayerAttribute] { [.layer("conv", conv), .layer("pool", pool)] }

    public func call(_ inputs: [SymbolicTensor], in graph: GraphBuilder) throws -> SymbolicTensor {
        try pool.call([try conv.call(inputs, in: graph)], in: graph)
    }
}

/// The tutorial's subclassed DenseNet: conv1, then dl1, tr1, dl2, tr2, ..., dlN, flatten, dense1, ..., denseM.
public final class DenseNet: Layer {
    public let kerasClassName = "DenseNet"
    public let name: String?
    public let conv1: Conv2D
    public let denseLayers: [DenseLayer]
    public let transitions: [TransitionLayer]
    public let flatten: Flatten
    public let heads: [Dense]

    public init(conv1: Conv2D, denseLayers: [DenseLayer], transitions: [TransitionLayer], heads: [Dense], name: String? = nil) {
        precondition(transitions.count + 1 == denseLayers.count, "one transition between consecutive dense layers")
        self.conv1 = conv1
        self.denseLayers = denseLayers
        self.transitions = transitions
        self.flatten = Flatten()
        self.heads = heads
        self.name = name
    }

    public var ownVariables: [Variable] { [] }
    public var isKerasModel: Bool { true }

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
    public struct Node {
        public let layer: any Layer
        /// Names of inbound layers (or `inputName`); the layer must have a name.
        public let inbound: [String]
        public init(_ layer: any Layer, _ inbound: [String]) {
            self.layer = layer
            self.inbound = inbound
        }
    }

    public let kerasClassName = "Functional"
    public let name: String?
    public let inputName: String
    public let nodes: [Node]
    public let outputName: String

    public init(name: String?, inputName: String = "input_1", nodes: [Node], outputName: String) {
        self.name = name
        self.inputName = inputName
        self.nodes = nodes
        self.outputName = outputName
    }

    public var ownVariables: [Variable] { [] }
    public var isKerasModel: Bool { true }
    /// One attribute per layer, named by the layer's name (Keras tracks functional layers individually).
    public var attributes: [LayerAttribute] { nodes.map { .layer($0.layer.name ?? "", $0.layer) } }

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
