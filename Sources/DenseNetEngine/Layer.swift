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
    /// True for containers that subclass keras.Model (DenseUnit, DenseLayer, TransitionLayer, DenseNet,
    /// functional models); false for plain layers. It changes tf-keras' `model.weights` order.
    var isKerasModel: Bool { get }
    /// Applies the layer symbolically: appends primitive ops to the graph (building variables on the
    /// first call) and returns the symbolic output.
    func call(_ inputs: [SymbolicTensor], in graph: GraphBuilder) throws -> SymbolicTensor
}

/// A tracked attribute of a layer, under the Python attribute name Keras derives names and weight order from.
public enum LayerAttribute {
    /// One sub-layer, e.g. `conv` → a `Conv2D` (Keras names its weights after the attribute in Keras 3's
    /// `.weights.h5`).
    case layer(String, any Layer)
    /// A Python list of sub-layers, e.g. `DenseLayer`'s `sequence`; tf-keras orders a list's variables
    /// trainable first.
    case list(String, [any Layer])

    /// The Python attribute name (`conv`, `layers`, …).
    public var attributeName: String {
        switch self {
        case let .layer(n, _), let .list(n, _): return n
        }
    }

    /// The sub-layers, one for `.layer`, all of them in order for `.list`.
    public var layers: [any Layer] {
        switch self {
        case let .layer(_, l): return [l]
        case let .list(_, ls): return ls
        }
    }
}

/// Orders of a model's full variable list.
public enum WeightOrder: Sendable {
    /// tf-keras 2.x `model.weights`: a keras.Model concatenates its tracked children's `weights`
    /// (then its own); a plain layer and a Python list attribute give all their trainable variables
    /// (recursive) followed by all non-trainable ones.
    case tfKeras
    /// Keras 3 `model.weights`: own variables (trainable, then non-trainable), then each tracked
    /// sub-layer's weights, recursively (pure pre-order).
    case keras3
}

extension Layer {
    /// Default: leaf layer.
    public var attributes: [LayerAttribute] { [] }
    /// Default: a plain layer.
    public var isKerasModel: Bool { false }

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

    /// All variables in pre-order (= `weights(order: .keras3)`).
    public var allVariables: [Variable] { weights(order: .keras3) }

    /// Trainable variables in Keras order (the order of gradients and Adam's slots): a plain layer's
    /// own first, then its sub-layers'; a keras.Model's sub-layers first, then its own.
    public var trainableVariables: [Variable] { dedup(collect(self, trainable: true)) }

    /// Non-trainable variables (BatchNormalization's moving statistics) in Keras order, each once.
    public var nonTrainableVariables: [Variable] { dedup(collect(self, trainable: false)) }

    /// Keras `model.weights` in tf-keras order (what tf-keras' `model.weights`/`get_weights()` list).
    public var weights: [Variable] { weights(order: .tfKeras) }

    /// All variables, each once, in the order of tf-keras' or Keras 3's `model.weights` (see `WeightOrder`).
    public func weights(order: WeightOrder) -> [Variable] {
        switch order {
        case .tfKeras: return dedup(tfKerasWeights(self))
        case .keras3:
            var out: [Variable] = []
            for l in allLayers {
                out += l.ownVariables.filter { $0.isTrainable } + l.ownVariables.filter { !$0.isTrainable }
            }
            return dedup(out)
        }
    }

    /// Sets all `weights` (tf-keras order) from flat arrays; checks count and sizes.
    public func setWeights(_ values: [[Float]], order: WeightOrder = .tfKeras) throws {
        let ws = weights(order: order)
        guard ws.count == values.count else {
            throw EngineError.countMismatch(what: "weights list", expected: ws.count, got: values.count)
        }
        for (w, v) in zip(ws, values) { try w.setValues(v) }
    }

    /// Copies of all `weights` values (tf-keras order unless asked otherwise).
    public func getWeights(order: WeightOrder = .tfKeras) -> [[Float]] { weights(order: order).map { $0.values } }
}

private func dedup(_ vs: [Variable]) -> [Variable] {
    var seen = Set<ObjectIdentifier>()
    return vs.filter { seen.insert(ObjectIdentifier($0)).inserted }
}

private func collect(_ l: any Layer, trainable: Bool) -> [Variable] {
    let own = l.ownVariables.filter { $0.isTrainable == trainable }
    let children = l.attributes.flatMap { $0.layers.flatMap { collect($0, trainable: trainable) } }
    return l.isKerasModel ? children + own : own + children
}

private func tfKerasWeights(_ l: any Layer) -> [Variable] {
    guard l.isKerasModel else { return collect(l, trainable: true) + collect(l, trainable: false) }
    var out: [Variable] = []
    for a in l.attributes {
        switch a {
        case let .layer(_, c): out += tfKerasWeights(c)
        case let .list(_, cs):
            out += cs.flatMap { collect($0, trainable: true) } + cs.flatMap { collect($0, trainable: false) }
        }
    }
    return out + l.ownVariables.filter { $0.isTrainable } + l.ownVariables.filter { !$0.isTrainable }
}
