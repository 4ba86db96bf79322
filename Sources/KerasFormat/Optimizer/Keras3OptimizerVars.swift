import DenseNetEngine
import HDF5

/// Keras 3.15's optimizer variables in a `model.weights.h5` (a `.keras` archive's, or `save_weights`
/// of a compiled model): the group `optimizer/vars`, whose `name` attribute is the optimizer's name
/// (by default its class in snake case: `adam`, `adam_w_1`, `rm_sprop`, `sgd`), holding `0` the
/// iteration count (int64), `1` the learning rate (float32), then the slots numbered in
/// `optimizer.variables` order.
enum Keras3OptimizerVars {
    static let path = "optimizer/vars"

    /// Writes `optimizer` as `optimizer/vars` into `root` for `variables` (the model's trainable ones).
    static func write(_ optimizer: TrainedOptimizer, variables: [Variable], to root: Group) throws {
        let vars = try root.createGroup(path)
        try vars.attributes.write(StringArray(scalar: optimizer.config.keras3Name, format: .variableUTF8), named: "name")
        _ = try vars.createDataset("0", NDArray(scalar: optimizer.state.iterations))
        _ = try vars.createDataset("1", NDArray(scalar: Float(optimizer.config.learningRate)))
        let pairs = optimizer.config.kerasSlotOrder.pairs(slots: optimizer.state.slots.count, variables: variables.count)
        for (index, pair) in pairs.enumerated() {
            let variable = variables[pair.variable]
            _ = try vars.createDataset(
                String(2 + index), NDArray(shape: variable.shape, scalars: optimizer.state.slots[pair.slot].values[pair.variable]))
        }
    }

    /// The state in `root`'s `optimizer/vars`; nil when there is none.
    static func read(from root: Group, file: String) throws -> StoredOptimizer? {
        guard try root.contains("optimizer"), try root.kind(of: "optimizer") == .group, try root.group("optimizer").contains("vars") else {
            return nil
        }
        let vars = try root.group(path)
        let names = try vars.childNames()
        let count = names.count
        guard count >= 2, Set(names) == Set((0..<count).map(String.init)) else {
            throw KerasFormatError(
                .malformed, file: file, layer: path, expected: "variables numbered 0, 1, … (iterations, learning rate, slots)",
                found: names.prefix(8).joined(separator: ", "))
        }
        let iterations = try StoredOptimizer.readIterations(vars.dataset("0"), file: file, layer: path, weight: "\(path)/0 (iterations)")
        let rate = try vars.dataset("1")
        guard try rate.dataType() == .float32, try rate.shape() == [] else {
            throw KerasFormatError(
                .dataTypeMismatch, file: file, layer: path, weight: "\(path)/1 (learning rate)", expected: "a float32 scalar",
                found: "\(try rate.dataType()) \(try rate.shape())")
        }
        let learningRate = try rate.read(as: Float.self).scalars[0]
        let slots = try (2..<count).map { index -> StoredOptimizer.Slot in
            let set = try vars.dataset(String(index)), name = "\(path)/\(index)"
            return StoredOptimizer.Slot(
                name: name, kind: nil, shape: try set.shape(),
                values: try StoredOptimizer.readFloat32(set, file: file, layer: path, weight: name))
        }
        let groupName = try vars.attributes.contains("name") ? try vars.attributes.string("name") : nil
        return StoredOptimizer(
            file: file, layout: .keras3, location: path, config: nil,
            className: groupName.flatMap(StoredOptimizer.kerasClassName(ofName:)), iterations: iterations, learningRate: learningRate,
            slots: slots)
    }
}
