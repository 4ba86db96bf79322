import DenseNetEngine
import HDF5

/// Adam's state in the two layouts Keras writes it.
///
/// tf-keras 2.21 (`save_optimizer_weights_to_hdf5_group`, `hdf5_format.py`): a group
/// `optimizer_weights` whose `weight_names` attribute lists `optimizer.variables` — `iteration:0`
/// (int64 scalar), then per trainable variable in the model's trainable-variable order its `m`
/// and `v` slots, named `Adam/m/<variable path>` and `Adam/v/<variable path>` when the slots were
/// created during training and `m/…`, `v/…` after `load_model` (created outside the optimizer's name
/// scope); each is a dataset at that name. tf-keras loads them by position (`set_weights`), and so
/// does the toolkit: any prefix is accepted, only count, order of m/v and shapes are checked.
/// The toolkit writes `Adam/m/…`, the name of slots made while training.
///
/// Keras 3.15 (`optimizer/vars` of a `.keras` archive's `model.weights.h5`, `name` attribute
/// `adam`): `0` iterations (int64), `1` learning rate (float32), then `m`, `v` per trainable
/// variable.
public enum OptimizerWeights {
    static let groupName = "optimizer_weights"
    static let iterationName = "iteration:0"

    /// The `weight_names` tf-keras gives Adam's variables for `model` (`iteration:0` first).
    public static func tfKerasNames(for model: Model) -> [String] {
        let paths = variablePaths(model)
        return [iterationName]
            + model.trainableVariables.flatMap { variable -> [String] in
                let path = paths[ObjectIdentifier(variable)] ?? "\(variable.name):0"
                return ["Adam/m/\(path)", "Adam/v/\(path)"]
            }
    }

    /// Full tf-keras variable names (`dense_net/conv2d/kernel:0`, `conv/kernel:0`).
    private static func variablePaths(_ model: Model) -> [ObjectIdentifier: String] {
        let layout = TFKerasWeightLayout(tree: NamedLayerTree(model: model.root))
        var paths: [ObjectIdentifier: String] = [:]
        for weight in layout.layers.flatMap(\.weights) + layout.topLevelWeights {
            paths[ObjectIdentifier(weight.variable)] = weight.name
        }
        return paths
    }

    /// Writes `optimizer_weights` into `parent` (a full-model file's root).
    public static func writeTFKeras(_ state: AdamState, model: Model, to parent: Group) throws {
        let variables = model.trainableVariables
        guard state.m.count == variables.count, state.v.count == variables.count else {
            throw KerasFormatError(
                .weightCountMismatch, file: parent.path, layer: groupName,
                expected: "m and v for \(variables.count) variables", found: "\(state.m.count), \(state.v.count)")
        }
        let names = tfKerasNames(for: model)
        let group = try parent.createGroup(groupName)
        try NameListAttribute.write(names, named: "weight_names", to: group.attributes)
        _ = try group.createDataset(iterationName, NDArray(scalar: state.iterations))
        for (index, variable) in variables.enumerated() {
            _ = try group.createDataset(names[1 + 2 * index], NDArray(shape: variable.shape, scalars: state.m[index]))
            _ = try group.createDataset(names[2 + 2 * index], NDArray(shape: variable.shape, scalars: state.v[index]))
        }
    }

    /// Reads `optimizer_weights` of `parent` for `variables` (the model's trainable variables),
    /// checking count, slot order and every shape and type; changes nothing.
    public static func readTFKeras(from parent: Group, variables: [Variable], file: String) throws -> AdamState {
        guard try parent.contains(groupName), try parent.kind(of: groupName) == .group else {
            throw KerasFormatError(
                .malformed, file: file, layer: groupName,
                expected: "a group /\(groupName) with Adam's state", found: "none")
        }
        let group = try parent.group(groupName)
        let names = try NameListAttribute.read("weight_names", from: group.attributes)
        guard names.count == 1 + 2 * variables.count else {
            throw KerasFormatError(
                .weightCountMismatch, file: file, layer: groupName,
                expected:
                    "\(1 + 2 * variables.count) weights (iteration, then Adam's m and v for each of \(variables.count) trainable variables)",
                found: "\(names.count)")
        }
        func dataset(_ name: String) throws -> Dataset {
            guard try group.contains(name), try group.kind(of: name) == .dataset else {
                throw KerasFormatError(
                    .malformed, file: file, layer: groupName, weight: name,
                    expected: "a dataset named in weight_names", found: "none")
            }
            return try group.dataset(name)
        }
        guard names[0].hasSuffix("iteration:0") || names[0].hasSuffix("iter:0") else {
            throw KerasFormatError(
                .malformed, file: file, layer: groupName, weight: names[0],
                expected: "iteration:0 first (a tf-keras 2.11+ optimizer)", found: names[0])
        }
        let iterationSet = try dataset(names[0])
        let iterations: Int64
        switch try iterationSet.dataType() {
        case .int64: iterations = try iterationSet.read(as: Int64.self).scalars.first ?? -1
        case .int32: iterations = Int64(try iterationSet.read(as: Int32.self).scalars.first ?? -1)
        case let other:
            throw KerasFormatError(.dataTypeMismatch, file: file, layer: groupName, weight: names[0], expected: "int64", found: "\(other)")
        }
        guard iterations >= 0 else {
            throw KerasFormatError(
                .malformed, file: file, layer: groupName, weight: names[0], expected: "a count >= 0", found: "\(iterations)")
        }
        var m: [[Float]] = [], v: [[Float]] = []
        for (index, variable) in variables.enumerated() {
            for (slot, name) in [("m", names[1 + 2 * index]), ("v", names[2 + 2 * index])] {
                guard name.hasPrefix("\(slot)/") || name.contains("/\(slot)/") else {
                    throw KerasFormatError(
                        .malformed, file: file, layer: groupName, weight: name,
                        expected: "Adam's \(slot) slot of trainable variable \(index) (\(variable.name))", found: name)
                }
                let values = try readSlot(dataset(name), variable: variable, file: file, weight: name)
                if slot == "m" { m.append(values) } else { v.append(values) }
            }
        }
        return AdamState(iterations: iterations, m: m, v: v)
    }

    static func readSlot(_ dataset: Dataset, variable: Variable, file: String, weight: String) throws -> [Float] {
        let shape = try dataset.shape(), type = try dataset.dataType()
        guard shape == variable.shape else {
            throw KerasFormatError(
                .shapeMismatch, file: file, layer: "optimizer", weight: "\(weight) (slot of \(variable.name))",
                expected: "\(variable.shape)", found: "\(shape)")
        }
        guard type == .float32 else {
            throw KerasFormatError(.dataTypeMismatch, file: file, layer: "optimizer", weight: weight, expected: "float32", found: "\(type)")
        }
        return try dataset.read(as: Float.self).scalars
    }

    // MARK: Keras 3

    static let keras3Path = "optimizer/vars"

    /// Writes Keras 3's `optimizer/vars` into `root` (a `model.weights.h5`).
    public static func writeKeras3(_ state: AdamState, config: AdamConfig, variables: [Variable], to root: Group) throws {
        let vars = try root.createGroup(keras3Path)
        try vars.attributes.write(StringArray(scalar: "adam", format: .variableUTF8), named: "name")
        _ = try vars.createDataset("0", NDArray(scalar: state.iterations))
        _ = try vars.createDataset("1", NDArray(scalar: Float(config.learningRate)))
        for (index, variable) in variables.enumerated() {
            _ = try vars.createDataset(String(2 + 2 * index), NDArray(shape: variable.shape, scalars: state.m[index]))
            _ = try vars.createDataset(String(3 + 2 * index), NDArray(shape: variable.shape, scalars: state.v[index]))
        }
    }

    /// Whether `root` holds Keras 3 optimizer variables.
    static func hasKeras3(_ root: Group) throws -> Bool {
        try root.contains("optimizer") && root.kind(of: "optimizer") == .group && root.group("optimizer").contains("vars")
    }

    /// Reads Keras 3's `optimizer/vars` for `variables`; returns the state and the stored learning rate.
    public static func readKeras3(from root: Group, variables: [Variable], file: String) throws -> (state: AdamState, learningRate: Float) {
        let sets = try Keras3WeightsFormat.readVars(
            at: keras3Path, layer: "optimizer", count: 2 + 2 * variables.count, in: root, file: file)
        guard try sets[0].dataType() == .int64, try sets[0].shape() == [] else {
            throw KerasFormatError(
                .dataTypeMismatch, file: file, layer: "optimizer", weight: "\(keras3Path)/0 (iterations)",
                expected: "an int64 scalar", found: "\(try sets[0].dataType()) \(try sets[0].shape())")
        }
        guard try sets[1].dataType() == .float32, try sets[1].shape() == [] else {
            throw KerasFormatError(
                .dataTypeMismatch, file: file, layer: "optimizer", weight: "\(keras3Path)/1 (learning rate)",
                expected: "a float32 scalar", found: "\(try sets[1].dataType()) \(try sets[1].shape())")
        }
        let iterations = try sets[0].read(as: Int64.self).scalars[0]
        let learningRate = try sets[1].read(as: Float.self).scalars[0]
        var m: [[Float]] = [], v: [[Float]] = []
        for (index, variable) in variables.enumerated() {
            m.append(try readSlot(sets[2 + 2 * index], variable: variable, file: file, weight: "\(keras3Path)/\(2 + 2 * index)"))
            v.append(try readSlot(sets[3 + 2 * index], variable: variable, file: file, weight: "\(keras3Path)/\(3 + 2 * index)"))
        }
        return (AdamState(iterations: iterations, m: m, v: v), learningRate)
    }
}
