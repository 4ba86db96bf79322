import DenseNetEngine
import HDF5

/// tf-keras 2.21's `optimizer_weights` group (`hdf5_format.save_optimizer_weights_to_hdf5_group`):
/// in a full-model file (`model.save("m.h5")`) or at the root of a file of its own, the way users of
/// a subclassed model save Adam beside `save_weights`.
///
/// Its `weight_names` attribute lists `optimizer.variables`: `iteration:0` (int64 scalar), then the
/// slots in the class's order, each a dataset at its name. tf-keras names a slot made while training
/// `<Class>/<slot>/<variable path>:0` and one made by `load_model` `<slot>/<variable path>:0`, where
/// `<slot>` is `m`/`v` for SGD, Adam and AdamW and Keras 3's own names for RMSprop; tf-keras loads
/// them by position (`set_weights`), and so does the toolkit, checking kinds and shapes on the way.
enum TFKerasOptimizerWeights {
    static let groupName = "optimizer_weights"
    static let iterationName = "iteration:0"

    /// tf-keras' name of a slot kind (Keras 3's name) in `config`'s class.
    static func tfKerasSlotName(_ kind: String, in config: OptimizerConfig) -> String {
        if case .rmsprop = config { return kind }
        return ["momentum": "m", "velocity": "v"][kind] ?? kind
    }

    /// Keras 3's name of a tf-keras slot name.
    static func kind(ofSlotNamed name: String) -> String? {
        ["m": "momentum", "v": "velocity", "momentum": "momentum", "velocity": "velocity", "average_gradient": "average_gradient"][name]
    }

    /// The `weight_names` of `optimizer` over `model`'s trainable variables (`iteration:0` first).
    static func names(for optimizer: OptimizerConfig, model: Model) -> [String] {
        let paths = TFKerasWeightLayout.variablePaths(model)
        let variables = model.trainableVariables
        var kinds = optimizer.slotNames
        if case .sgd = optimizer, kinds.isEmpty { kinds = ["momentum"] }  // tf-keras keeps them at momentum 0 too
        let slots = optimizer.kerasSlotOrder.pairs(slots: kinds.count, variables: variables.count).map { pair in
            let variable = variables[pair.variable]
            let path = paths[ObjectIdentifier(variable)] ?? "\(variable.name):0"
            return "\(optimizer.kerasClassName)/\(tfKerasSlotName(kinds[pair.slot], in: optimizer))/\(path)"
        }
        return [iterationName] + slots
    }

    /// Writes `optimizer`'s `optimizer_weights` group into `parent` for `model`'s trainable variables.
    static func write(_ optimizer: TrainedOptimizer, model: Model, to parent: Group) throws {
        let variables = model.trainableVariables
        let names = names(for: optimizer.config, model: model)
        let group = try parent.createGroup(groupName)
        try NameListAttribute.write(names, named: "weight_names", to: group.attributes)
        _ = try group.createDataset(iterationName, NDArray(scalar: optimizer.state.iterations))
        let kinds = optimizer.config.slotNames
        let pairs = optimizer.config.kerasSlotOrder.pairs(slots: max(kinds.count, 1), variables: variables.count)
        for (name, pair) in zip(names.dropFirst(), pairs) {
            let variable = variables[pair.variable]
            let values =
                kinds.isEmpty ? [Float](repeating: 0, count: variable.count) : optimizer.state.slots[pair.slot].values[pair.variable]
            _ = try group.createDataset(name, NDArray(shape: variable.shape, scalars: values))
        }
    }

    /// The state in `parent`'s `optimizer_weights` group; nil when there is none.
    static func read(from parent: Group, file: String) throws -> StoredOptimizer? {
        guard try parent.contains(groupName), try parent.kind(of: groupName) == .group else { return nil }
        let group = try parent.group(groupName)
        let names = try NameListAttribute.read("weight_names", from: group.attributes)
        func dataset(_ name: String) throws -> Dataset {
            guard try group.contains(name), try group.kind(of: name) == .dataset else {
                throw KerasFormatError(
                    .malformed, file: file, layer: groupName, weight: name, expected: "a dataset named in weight_names", found: "none")
            }
            return try group.dataset(name)
        }
        guard let first = names.first, first.hasSuffix("iteration:0") || first.hasSuffix("iter:0") else {
            throw KerasFormatError(
                .malformed, file: file, layer: groupName, weight: names.first ?? "",
                expected: "iteration:0 first (a tf-keras 2.11+ optimizer's iteration counter)", found: names.first ?? "no weight names")
        }
        let iterations = try StoredOptimizer.readIterations(dataset(first), file: file, layer: groupName, weight: first)
        var className: String?
        let slots = try names.dropFirst().map { name -> StoredOptimizer.Slot in
            var components = name.split(separator: "/").map(String.init)
            if let head = components.first, components.count > 2, let named = StoredOptimizer.kerasClassName(ofName: head) {
                guard OptimizerConfig(kerasClassName: named) != nil else {
                    throw StoredOptimizer.unsupported(named, file: file, location: groupName)
                }
                className = named
                components.removeFirst()
            }
            guard let kind = components.first.flatMap(kind(ofSlotNamed:)) else {
                throw KerasFormatError(
                    .malformed, file: file, layer: groupName, weight: name,
                    expected: "a slot named [<Class>/]<m|v|momentum|velocity|average_gradient>/<variable>", found: name)
            }
            let set = try dataset(name)
            return StoredOptimizer.Slot(
                name: name, kind: kind, shape: try set.shape(),
                values: try StoredOptimizer.readFloat32(set, file: file, layer: groupName, weight: name))
        }
        return StoredOptimizer(
            file: file, layout: .tfKeras, location: groupName, config: nil, className: className, iterations: iterations,
            learningRate: nil, slots: slots)
    }
}

extension StoredOptimizer {
    /// An iteration counter: a non-negative int64 (or int32) scalar.
    static func readIterations(_ dataset: Dataset, file: String, layer: String, weight: String) throws -> Int64 {
        let shape = try dataset.shape()
        guard shape.reduce(1, *) == 1 else {
            throw KerasFormatError(.shapeMismatch, file: file, layer: layer, weight: weight, expected: "a scalar", found: "\(shape)")
        }
        let iterations: Int64
        switch try dataset.dataType() {
        case .int64: iterations = try dataset.read(as: Int64.self).scalars[0]
        case .int32: iterations = Int64(try dataset.read(as: Int32.self).scalars[0])
        case let other:
            throw KerasFormatError(.dataTypeMismatch, file: file, layer: layer, weight: weight, expected: "int64", found: "\(other)")
        }
        guard iterations >= 0 else {
            throw KerasFormatError(.malformed, file: file, layer: layer, weight: weight, expected: "a count >= 0", found: "\(iterations)")
        }
        return iterations
    }

    /// A float32 slot array.
    static func readFloat32(_ dataset: Dataset, file: String, layer: String, weight: String) throws -> [Float] {
        let type = try dataset.dataType()
        guard type == .float32 else {
            throw KerasFormatError(.dataTypeMismatch, file: file, layer: layer, weight: weight, expected: "float32", found: "\(type)")
        }
        return try dataset.read(as: Float.self).scalars
    }
}
