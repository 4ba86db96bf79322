import DenseNetEngine
import Foundation

/// Where each weight of a model goes in a safetensors file for PyTorch, and how its layout changes.
///
/// Names: torchvision's DenseNet names for Keras-applications DenseNets (`features.conv0.weight`,
/// `features.denseblock1.denselayer1.norm1.running_mean`, `classifier.bias`, …; see
/// `torchvisionDenseNetModule`); for any other model (the tutorial's `densenet-mini`) the PyTorch
/// module path mirrors the Keras attribute path, list items by index, as a straight PyTorch port of
/// the Python class would name them: `conv1.weight`, `dl1.sequence.0.bn.running_var`,
/// `tr1.conv.bias`, `dense2.weight`.
///
/// Parameters: Conv2D `kernel` (H, W, in, out) → `weight` (out, in, H, W); Dense `kernel` (in, out) →
/// `weight` (out, in); BatchNormalization `gamma`/`beta`/`moving_mean`/`moving_variance` → `weight`/
/// `bias`/`running_mean`/`running_var`, plus an int64 scalar `num_batches_tracked` = 0 (PyTorch's
/// state dict has it; nothing in Keras corresponds). A Dense layer right after a Flatten of an
/// (H, W, C) map has its input rows reordered from Keras' NHWC flatten order (h, w, c) to PyTorch's
/// NCHW order (c, h, w), so `torch.flatten` followed by the Linear layer computes the same outputs.
/// Every change is a pure permutation, so values stay bit-exact.
///
/// Each tensor's Keras origin — layer, weight, position in the layer, Keras shape and the
/// permutation — is recorded in the file's `__metadata__` (`SafetensorsWeightsFormat`), so the
/// file converts back to Keras losslessly and `inspect`/`diff` can map it onto Keras weights.
public struct SafetensorsWeightLayout {
    /// How a Keras array becomes the PyTorch tensor: viewed as `view` (same elements, row-major),
    /// transposed by `axes` (`numpy.transpose(a.reshape(view), axes)`), then reshaped to `torchShape`.
    public struct Transform: Equatable, Sendable, Codable {
        /// The Keras array's shape as first viewed (e.g. a Dense kernel's `(h, w, c, out)` after a Flatten).
        public let view: [Int]
        /// The permutation of `view`'s axes, as `numpy.transpose` takes it.
        public let axes: [Int]

        /// No change: `shape` viewed as itself, axes in order (biases, BatchNormalization's vectors).
        public static func identity(_ shape: [Int]) -> Transform { Transform(view: shape, axes: Array(shape.indices)) }

        /// Whether the elements keep their order (axes in order).
        public var isIdentity: Bool { axes == Array(axes.indices) }

        /// Keras (row-major) elements → PyTorch elements.
        public func apply<T>(_ values: [T]) -> [T] { permute(values, shape: view, axes: axes) }

        /// PyTorch elements → Keras elements.
        public func invert<T>(_ values: [T]) -> [T] {
            var inverse = [Int](repeating: 0, count: axes.count)
            for (position, axis) in axes.enumerated() { inverse[axis] = position }
            return permute(values, shape: axes.map { view[$0] }, axes: inverse)
        }
    }

    /// One tensor of the file: its PyTorch name and shape, the Keras variable it holds and how its elements
    /// move.
    public struct Entry {
        /// The tensor's name in the safetensors file.
        public let name: String
        /// The model's variable the tensor holds.
        public let variable: Variable
        /// The owning layer's unique Keras name.
        public let kerasLayer: String
        /// The variable's Keras name (`kernel`, `moving_mean`, …).
        public let kerasWeight: String
        /// The variable's position among its layer's variables (Keras 3's `vars/<index>`).
        public let kerasIndex: Int
        /// The PyTorch shape (`(out, in, H, W)` for a conv weight).
        public let torchShape: [Int]
        /// How the Keras elements become the PyTorch tensor.
        public let transform: Transform
    }

    /// The model's variables, in Keras 3 (pre-order) order.
    public let entries: [Entry]
    /// PyTorch-only buffers with no Keras counterpart (`…num_batches_tracked`), written as int64 0.
    public let counterNames: [String]

    /// The layout of `model`: torchvision's names for a Keras Applications DenseNet, attribute paths
    /// otherwise.
    public init(model: Model) {
        let tree = NamedLayerTree(model: model.root)
        let flattened = flattenInputShapes(model)
        let torchvision =
            model.root.kerasClassName == "Functional"
            && tree.root.children.contains { torchvisionDenseNetModule(for: $0.name) == "features.conv0" }
        var entries: [Entry] = []
        var counters: [String] = []
        var visited = Set<ObjectIdentifier>()
        func visit(_ node: NamedLayerTree.Node, module: String) {
            guard visited.insert(ObjectIdentifier(node.layer)).inserted else { return }
            let layer = node.layer
            for (index, variable) in layer.ownVariables.enumerated() {
                let (parameter, transform) = Self.parameter(for: variable, of: layer, flattenInput: flattened[ObjectIdentifier(layer)])
                let name = module.isEmpty ? parameter : "\(module).\(parameter)"
                let torchShape = transform.axes.map { transform.view[$0] }
                let merged =
                    flattened[ObjectIdentifier(layer)] != nil && variable.name == "kernel"
                    ? [torchShape[0], torchShape.dropFirst().reduce(1, *)] : torchShape
                entries.append(
                    Entry(
                        name: name, variable: variable, kerasLayer: node.name, kerasWeight: variable.name,
                        kerasIndex: index, torchShape: merged, transform: transform))
            }
            if layer.kerasClassName == "BatchNormalization", !layer.ownVariables.isEmpty {
                counters.append(module.isEmpty ? "num_batches_tracked" : "\(module).num_batches_tracked")
            }
            for (attribute, nodes, isList) in node.attributes {
                for (position, child) in nodes.enumerated() {
                    let childModule: String
                    if module.isEmpty, torchvision, let mapped = torchvisionDenseNetModule(for: child.name) {
                        childModule = mapped
                    } else {
                        let base = attribute.replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: ".", with: "_")
                        childModule = isList ? "\(base).\(position)" : base
                    }
                    visit(child, module: module.isEmpty ? childModule : "\(module).\(childModule)")
                }
            }
        }
        visit(tree.root, module: "")
        self.entries = entries
        self.counterNames = counters
    }

    /// PyTorch's name and layout for one Keras variable.
    static func parameter(for variable: Variable, of layer: any Layer, flattenInput: [Int]?) -> (String, Transform) {
        let shape = variable.shape
        switch (layer.kerasClassName, variable.name) {
        case ("Conv2D", "kernel") where shape.count == 4:
            return ("weight", Transform(view: shape, axes: [3, 2, 0, 1]))
        case ("Dense", "kernel") where shape.count == 2:
            if let map = flattenInput, map.count == 3, map.reduce(1, *) == shape[0] {
                // rows h*W*C + w*C + c → columns c*H*W + h*W + w
                return ("weight", Transform(view: map + [shape[1]], axes: [3, 2, 0, 1]))
            }
            return ("weight", Transform(view: shape, axes: [1, 0]))
        case (_, "kernel"): return ("weight", .identity(shape))
        case ("BatchNormalization", "gamma"): return ("weight", .identity(shape))
        case ("BatchNormalization", "beta"): return ("bias", .identity(shape))
        case ("BatchNormalization", "moving_mean"): return ("running_mean", .identity(shape))
        case ("BatchNormalization", "moving_variance"): return ("running_var", .identity(shape))
        default: return (variable.name, .identity(shape))
        }
    }
}

/// torchvision's module path for a layer of a Keras-applications DenseNet (tf-keras names such as
/// `conv2_block1_0_bn` or `conv1/conv`, Keras 3's `conv1_conv`), or nil for other names.
/// Keras' blocks `conv2`…`conv5` are torchvision's `denseblock1`…`4`, its transitions `pool2`…`pool4`
/// are `transition1`…`3`; inside a dense layer `0_bn`, `1_conv`, `1_bn`, `2_conv` are `norm1`,
/// `conv1`, `norm2`, `conv2`.
public func torchvisionDenseNetModule(for kerasName: String) -> String? {
    let name = kerasName.replacingOccurrences(of: "/", with: "_")
    switch name {
    case "conv1_conv": return "features.conv0"
    case "conv1_bn": return "features.norm0"
    case "bn": return "features.norm5"
    case "predictions": return "classifier"
    default: break
    }
    if let match = name.wholeMatch(of: /conv(\d+)_block(\d+)_([012])_(bn|conv)/), let block = Int(match.1) {
        let part: String? =
            switch (match.3, match.4) {
            case ("0", "bn"): "norm1"
            case ("1", "conv"): "conv1"
            case ("1", "bn"): "norm2"
            case ("2", "conv"): "conv2"
            default: nil
            }
        guard let part else { return nil }
        return "features.denseblock\(block - 1).denselayer\(match.2).\(part)"
    }
    if let match = name.wholeMatch(of: /pool(\d+)_(bn|conv)/), let block = Int(match.1) {
        return "features.transition\(block - 1).\(match.2 == "bn" ? "norm" : "conv")"
    }
    return nil
}

/// The (H, W, C) input of each Dense layer that directly follows a Flatten of a rank-3 map, found by
/// replaying the model's call structure on a scratch graph (the layers are built, so nothing changes).
func flattenInputShapes(_ model: Model) -> [ObjectIdentifier: [Int]] {
    let graph = GraphBuilder(seed: 0)
    var found: [ObjectIdentifier: [Int]] = [:]
    if let net = model.root as? DenseNet {
        guard var x = try? net.conv1.call([graph.input(shape: model.inputShape)], in: graph) else { return [:] }
        for (i, block) in net.denseLayers.enumerated() {
            guard let y = try? block.call([x], in: graph) else { return [:] }
            x = y
            if i < net.transitions.count {
                guard let z = try? net.transitions[i].call([x], in: graph) else { return [:] }
                x = z
            }
        }
        if x.shape.count == 3, let first = net.heads.first { found[ObjectIdentifier(first)] = x.shape }
    } else if let functional = model.root as? FunctionalModel {
        var table: [String: SymbolicTensor] = [functional.inputName: graph.input(shape: model.inputShape)]
        var flattenInputs: [String: [Int]] = [:]
        for node in functional.nodes {
            guard let name = node.layer.name else { return found }
            let inputs = node.inbound.compactMap { table[$0] }
            guard inputs.count == node.inbound.count, let output = try? node.layer.call(inputs, in: graph) else { return found }
            table[name] = output
            if node.layer is Flatten, inputs[0].shape.count == 3 { flattenInputs[name] = inputs[0].shape }
            if node.layer is Dense, node.inbound.count == 1, let map = flattenInputs[node.inbound[0]] {
                found[ObjectIdentifier(node.layer)] = map
            }
        }
    }
    return found
}

/// `numpy.transpose(values.reshape(shape), axes).ravel()`.
func permute<T>(_ values: [T], shape: [Int], axes: [Int]) -> [T] {
    guard axes != Array(axes.indices), !values.isEmpty else { return values }
    let rank = shape.count
    var strides = [Int](repeating: 1, count: rank)
    for axis in stride(from: rank - 2, through: 0, by: -1) { strides[axis] = strides[axis + 1] * shape[axis + 1] }
    let outShape = axes.map { shape[$0] }
    let outStrides = axes.map { strides[$0] }
    var result = [T]()
    result.reserveCapacity(values.count)
    forEachStridedOffset(shape: outShape, strides: outStrides) { result.append(values[$0]) }
    return result
}
