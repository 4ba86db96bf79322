import DenseNetEngine

/// A model's layers with the names Keras gives them.
///
/// Explicit names are kept; every other layer is named by Keras' automatic rule: the snake_case of
/// its class name, made unique by one counter per base name, in construction order — a container
/// is named before the layers it creates (tf-keras `backend.unique_object_name`, Keras 3
/// `naming.auto_name`; both start without a suffix: `conv2d`, `conv2d_1`, …).
public final class NamedLayerTree {
    /// One layer and its resolved Keras name.
    public final class Node {
        /// The layer itself.
        public let layer: any Layer
        /// Its Keras name: explicit, or given by the automatic rule.
        public let name: String
        /// The tracked sub-layers, by attribute, in construction order.
        public fileprivate(set) var attributes: [(name: String, nodes: [Node], isList: Bool)] = []

        init(layer: any Layer, name: String) {
            self.layer = layer
            self.name = name
        }

        /// Direct sub-layers in tracking order, each once (Keras' `model.layers`).
        public var children: [Node] {
            var seen = Set<ObjectIdentifier>()
            return attributes.flatMap(\.nodes).filter { seen.insert(ObjectIdentifier($0.layer)).inserted }
        }
    }

    /// The model's node, named like any other layer (`dense_net`), or its explicit name.
    public let root: Node

    /// Names `model` and its sub-layers as a fresh Keras session would.
    public init(model: any Layer) {
        var counters: [String: Int] = [:]
        var built: [ObjectIdentifier: Node] = [:]
        func node(for layer: any Layer) -> Node {
            if let existing = built[ObjectIdentifier(layer)] { return existing }
            let node = Node(layer: layer, name: layer.name ?? Self.uniqueName(for: layer, counters: &counters))
            built[ObjectIdentifier(layer)] = node
            node.attributes = layer.attributes.map { attribute in
                let isList = if case .list = attribute { true } else { false }
                return (attribute.attributeName, attribute.layers.map(node(for:)), isList)
            }
            return node
        }
        root = node(for: model)
    }

    /// All nodes, pre-order, each once.
    public var allNodes: [Node] {
        var seen = Set<ObjectIdentifier>()
        var out: [Node] = []
        func visit(_ node: Node) {
            guard seen.insert(ObjectIdentifier(node.layer)).inserted else { return }
            out.append(node)
            node.children.forEach(visit)
        }
        visit(root)
        return out
    }

    private static func uniqueName(for layer: any Layer, counters: inout [String: Int]) -> String {
        let base = kerasSnakeCase(layer.kerasClassName)
        let number = counters[base, default: 0]
        counters[base] = number + 1
        return number == 0 ? base : "\(base)_\(number)"
    }
}
