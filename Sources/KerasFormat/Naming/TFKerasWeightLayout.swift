import DenseNetEngine

/// Where tf-keras' `save_weights` to HDF5 puts each weight of a model.
///
/// Mirrors `tf_keras/src/saving/legacy/hdf5_format.py` (`save_weights_to_hdf5_group`): one group per
/// layer of `model.layers`, holding that layer's legacy weights — all trainable variables of the layer
/// and its sub-layers, then all non-trainable ones (`_legacy_weights`) — each under its full variable
/// name, the name scopes of the layers that created it: `dense_net/dense_layer/dense_unit/
/// batch_normalization/gamma:0` in a subclassed model, `conv1/conv/kernel:0` in a functional one
/// (whose layers are built outside the model's scope).
public struct TFKerasWeightLayout {
    /// A weight and the full name tf-keras gives it.
    public struct Weight {
        /// The full variable name, e.g. `conv1/conv/kernel:0`, stored in the layer's `weight_names`.
        public let name: String
        /// The model's variable stored under `name`.
        public let variable: Variable
    }

    /// One layer of `model.layers` and its legacy weights, in file order.
    public struct LayerEntry {
        /// The layer's Keras name: its group's name and its entry in `layer_names`.
        public let name: String
        /// The layer's weights in the order of `weight_names`: trainable, then non-trainable.
        public let weights: [Weight]
    }

    /// `model.layers`, in order: the `layer_names` attribute.
    public let layers: [LayerEntry]
    /// The model's own variables (the `top_level_model_weights` group).
    public let topLevelWeights: [Weight]

    /// Model classes whose layers are built outside the model's name scope.
    static let graphModelClasses: Set<String> = ["Functional", "Sequential"]

    /// The layout of `tree`'s model, as `save_weights_to_hdf5_group` would write it.
    public init(tree: NamedLayerTree) {
        var fullNames: [ObjectIdentifier: String] = [:]
        func nameVariables(of node: NamedLayerTree.Node, scope: String) {
            for variable in node.layer.ownVariables {
                fullNames[ObjectIdentifier(variable)] = "\(scope)/\(variable.name):0"
            }
            for child in node.children { nameVariables(of: child, scope: "\(scope)/\(child.name)") }
        }
        let root = tree.root
        if Self.graphModelClasses.contains(root.layer.kerasClassName) {
            root.children.forEach { nameVariables(of: $0, scope: $0.name) }
        } else {
            nameVariables(of: root, scope: root.name)
        }
        func named(_ variables: [Variable]) -> [Weight] {
            variables.map { Weight(name: fullNames[ObjectIdentifier($0)] ?? "\($0.name):0", variable: $0) }
        }
        layers = root.children.map { child in
            LayerEntry(name: child.name, weights: named(child.layer.trainableVariables + child.layer.nonTrainableVariables))
        }
        let own = root.layer.ownVariables
        topLevelWeights = named(own.filter(\.isTrainable) + own.filter { !$0.isTrainable })
    }

    /// Full tf-keras variable names by variable (`dense_net/conv2d/kernel:0`, `conv/kernel:0`), the
    /// paths optimizer slots are named after.
    static func variablePaths(_ model: Model) -> [ObjectIdentifier: String] {
        let layout = TFKerasWeightLayout(tree: NamedLayerTree(model: model.root))
        var paths: [ObjectIdentifier: String] = [:]
        for weight in layout.layers.flatMap(\.weights) + layout.topLevelWeights {
            paths[ObjectIdentifier(weight.variable)] = weight.name
        }
        return paths
    }
}
