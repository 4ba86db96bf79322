// The model tree (what Keras names and weight order are derived from) and its helpers.

/// A node of the model tree. Primitive layers (Conv2D, Dense, ...) and subclassed blocks
/// (DenseUnit, DenseLayer, TransitionLayer, DenseNet) and functional models all conform.
public protocol Layer: AnyObject {
    /// The Keras class this layer mirrors ("Conv2D", "BatchNormalization", ..., "DenseUnit", "DenseNet").
    var kerasClassName: String { get }
    /// An explicit Keras layer name; nil = Keras' automatic naming decides.
    var name: String? { get }
    /// Variables this layer owns directly, in Keras' order (trainable first, then non-trainable).
    /// Empty until the layer is built (the first `call`, which knows the input shape).
    var ownVariables: [Variable] { get }
    /// Tracked sub-layers in construction order, under the attribute names the Keras model uses.
    var attributes: [LayerAttribute] { get }
    /// Applies the layer symbolically: appends primitive ops to the graph (building variables on the
    /// first call) and returns the symbolic output.
    func call(_ inputs: [SymbolicTensor], in graph: GraphBuilder) throws -> SymbolicTensor
}

public enum LayerAttribute {
    case layer(String, any Layer)
    case list(String, [any Layer])

    public var attributeName: String {
        switch self {
        case let .layer(n, _), let .list(n, _): return n
        }
    }

    public var layers: [any Layer] {
        switch self {
        case let .layer(_, l): return [l]
        case let .list(_, ls): return ls
        }
    }
}

extension Layer {
    /// Default: leaf layer.
    public var attributes: [LayerAttribute] { [] }

    /// This layer and all tracked sub-layers, pre-order (self first, attributes in order, list elements in order).
    public var allLayers: [any Layer] {
        var out: [any Layer] = []
        func visit(_ l: any Layer) {
            out.append(l)
            for a in l.attributes { for c in a.layers { visit(c) } }
        }
        visit(self)
        return out
    }

    /// All variables, recursive pre-order (own first, then attributes in order).
    public var allVariables: [Variable] {
        var seen = Set<ObjectIdentifier>()
        var out: [Variable] = []
        for l in allLayers {
            for v in l.ownVariables where seen.insert(ObjectIdentifier(v)).inserted { out.append(v) }
        }
        return out
    }

    /// Trainable variables in Keras order (the order Adam's slots follow).
    public var trainableVariables: [Variable] { allVariables.filter { $0.isTrainable } }

    public var nonTrainableVariables: [Variable] { allVariables.filter { !$0.isTrainable } }

    /// Keras `model.weights`: all trainable variables followed by all non-trainable ones.
    public var weights: [Variable] { trainableVariables + nonTrainableVariables }

    /// Sets all `weights` from flat arrays (Keras order); checks count and sizes.
    public func setWeights(_ values: [[Float]]) throws {
        let ws = weights
        guard ws.count == values.count else {
            throw EngineError.countMismatch(what: "weights list", expected: ws.count, got: values.count)
        }
        for (w, v) in zip(ws, values) { try w.setValues(v) }
    }

    /// Copies of all `weights` values (Keras order).
    public func getWeights() -> [[Float]] { weights.map { $0.values } }
}
