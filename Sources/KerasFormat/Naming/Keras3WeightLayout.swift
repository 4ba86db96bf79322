import DenseNetEngine

/// Where Keras 3's `save_weights` (and the `model.weights.h5` of a `.keras` archive) puts each
/// layer's variables.
///
/// Mirrors `keras/src/saving/saving_lib.py`: `_save_state` walks the object tree from the model;
/// each object not visited before writes its own variables to `<path>/vars/0…n` (a `vars` group
/// with a `name` attribute even when it has none), then its attributes in sorted order — private
/// ones last — with a container's `layers` list among them (first of all for Functional and
/// Sequential models). Items of a list are named by `_save_container_state`: the snake_case class
/// name, numbered per list (`dense_unit`, `dense_unit_1`); an item already visited still takes its
/// number. So the tutorial's `tr1` is written as `layers/transition_layer`, since `layers` sorts
/// before `tr1`.
public struct Keras3WeightLayout {
    /// One object's `vars` group.
    public struct Entry {
        /// The group's path, e.g. `dl1/layers/dense_unit/bn/vars` (the model's own: `vars`).
        public let path: String
        /// The layer's Keras name, stored as the group's `name` attribute.
        public let layerName: String
        /// The object's own variables in Keras' order (trainable first), stored as `0`, `1`, ….
        public let variables: [Variable]
    }

    /// Every `vars` group in the order Keras writes them.
    public let entries: [Entry]

    /// The layout of `tree`'s model, walked as Keras 3's `saving_lib._save_state` walks it.
    public init(tree: NamedLayerTree) {
        var entries: [Entry] = []
        var visited = Set<ObjectIdentifier>()
        func join(_ path: String, _ name: String) -> String { path.isEmpty ? name : "\(path)/\(name)" }
        func saveState(_ node: NamedLayerTree.Node, at path: String) {
            guard visited.insert(ObjectIdentifier(node.layer)).inserted else { return }
            entries.append(Entry(path: join(path, "vars"), layerName: node.name, variables: node.layer.ownVariables))
            for (attribute, nodes, isList) in Self.walk(node) {
                if isList {
                    saveContainer(nodes, at: join(path, attribute))
                } else {
                    nodes.forEach { saveState($0, at: join(path, attribute)) }
                }
            }
        }
        func saveContainer(_ nodes: [NamedLayerTree.Node], at path: String) {
            var used: [String: Int] = [:]
            for node in nodes {
                let base = kerasSnakeCase(node.layer.kerasClassName)
                let name: String
                if let count = used[base] {
                    used[base] = count + 1
                    name = "\(base)_\(count + 1)"
                } else {
                    used[base] = 0
                    name = base
                }
                saveState(node, at: join(path, name))
            }
        }
        saveState(tree.root, at: "")
        self.entries = entries
    }

    /// `_walk_saveable`: a container's `layers`, then its attributes sorted by `_name_key`.
    private static func walk(_ node: NamedLayerTree.Node) -> [(String, [NamedLayerTree.Node], isList: Bool)] {
        guard !node.attributes.isEmpty else { return [] }
        var attributes = node.attributes.map { ($0.name, $0.nodes, isList: $0.isList) }
        if !attributes.contains(where: { $0.0 == "layers" }) {
            attributes.append(("layers", node.children, isList: true))
        }
        let sortKey = { (name: String) in name.hasPrefix("_") ? "~" + name : name }
        attributes.sort { sortKey($0.0) < sortKey($1.0) }
        if TFKerasWeightLayout.graphModelClasses.contains(node.layer.kerasClassName),
            let layers = attributes.firstIndex(where: { $0.0 == "layers" })
        {
            attributes.insert(attributes.remove(at: layers), at: 0)
        }
        return attributes
    }
}
