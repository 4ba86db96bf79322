import DenseNetEngine
import HDF5

/// An optimizer's configuration and state together: what a trainer continues from and what a file
/// with optimizer state is written from.
public struct TrainedOptimizer: Equatable, Sendable {
    /// Which optimizer, with its hyperparameters.
    public var config: OptimizerConfig
    /// The step count and the slots, one array per trainable variable.
    public var state: OptimizerState

    /// A configuration and a state that belongs to it (same slot kinds).
    public init(config: OptimizerConfig, state: OptimizerState) {
        self.config = config
        self.state = state
    }

    /// `optimizer`'s configuration and current state.
    public init(_ optimizer: Optimizer) { self.init(config: optimizer.config, state: optimizer.state) }
}

/// Optimizer state as a Keras file stores it, before it meets a model's variables: what the file
/// says about the optimizer, its step count and its slot arrays in the file's order.
///
/// Keras lists an optimizer's variables as `iterations` (Keras 3: then the learning rate), then the
/// slots in the order the class creates them (`OptimizerConfig.kerasSlotOrder`). tf-keras names each
/// slot `<Class>/<slot>/<variable path>:0` (`Adam/m/conv/kernel:0`; after `load_model`, without the
/// class: `m/conv/kernel:0`), Keras 3 numbers them (`optimizer/vars/2`, …) and names only the group
/// (`adam`, `adam_w_1`). `resolved(for:variables:)` matches them to a model's trainable variables.
public struct StoredOptimizer: Sendable {
    /// The generation whose layout the file has.
    public enum Layout: Sendable {
        /// tf-keras' `optimizer_weights` group: `iteration:0` and named slots.
        case tfKeras
        /// Keras 3's `optimizer/vars`: `0` iterations, `1` learning rate, numbered slots.
        case keras3
        /// torch.optim's state in safetensors (`PyTorchOptimizerState`), put back in Keras' layout and order.
        case pytorch
    }

    /// One slot array as stored.
    public struct Slot: Sendable {
        /// Its name in the file (`Adam/m/conv/kernel:0`, `optimizer/vars/2`).
        public var name: String
        /// Its kind under Keras 3's names (`momentum`, `velocity`, `average_gradient`) when the name
        /// tells it (tf-keras); nil for numbered Keras 3 slots.
        public var kind: String?
        /// The shape as stored: the variable's shape.
        public var shape: [Int]
        /// The values as float32, in stored order.
        public var values: [Float]
    }

    /// The file the state was read from, for messages.
    public var file: String
    /// tf-keras', Keras 3's or PyTorch's layout.
    public var layout: Layout
    /// The group (`optimizer_weights`, `optimizer/vars`) the state was read from, for messages.
    public var location: String
    /// The full configuration, when the file has one (`training_config`, `compile_config`).
    public var config: OptimizerConfig?
    /// The class the file names by its configuration, its slot names' prefix or its group name; nil
    /// when it names none.
    public var className: String?
    /// The stored step count (Keras' `optimizer.iterations`).
    public var iterations: Int64
    /// Keras 3 stores the learning rate as a variable (`optimizer/vars/1`).
    public var learningRate: Float?
    /// The slot arrays in the file's order (see the type's summary).
    public var slots: [Slot]

    /// The configuration the file implies: its own, else the named class with Keras' defaults (and
    /// the stored learning rate), else `fallback`'s. Throws when the file names another class than
    /// `fallback`.
    public func configuration(fallback: OptimizerConfig? = nil) throws -> OptimizerConfig? {
        if let config { return config }
        guard let className else { return fallback }
        guard let named = OptimizerConfig(kerasClassName: className) else {
            throw Self.unsupported(className, file: file, location: location)
        }
        if let fallback, fallback.kerasClassName == named.kerasClassName {
            return learningRate.map { fallback.with(learningRate: Double($0)) } ?? fallback
        }
        return learningRate.map { named.with(learningRate: Double($0)) } ?? named
    }

    /// The state for `config` over `variables` (a model's trainable variables): slot count, order,
    /// kinds and shapes are checked the way Keras lays them out; changes nothing.
    public func resolved(for config: OptimizerConfig, variables: [Variable]) throws -> TrainedOptimizer {
        if let className, OptimizerConfig(kerasClassName: className) == nil {
            throw Self.unsupported(className, file: file, location: location)
        }
        if let className, let named = OptimizerConfig(kerasClassName: className), named.kerasClassName != config.kerasClassName {
            throw KerasFormatError(
                .wrongFormat, file: file, layer: location,
                expected: "\(config.kerasClassName)'s state (the optimizer being resumed)", found: "\(named.kerasClassName)'s state")
        }
        let kinds = config.slotNames
        var slots = self.slots
        // tf-keras' SGD keeps `m` slots even at momentum 0, where they never enter the update.
        if layout == .tfKeras, case let .sgd(sgd) = config, sgd.momentum == 0, slots.count == variables.count {
            slots = []
        }
        guard slots.count == kinds.count * variables.count else {
            throw KerasFormatError(
                .weightCountMismatch, file: file, layer: location,
                expected:
                    "\(kinds.count * variables.count) slot arrays (\(config.kerasClassName) keeps \(kinds.isEmpty ? "none" : kinds.joined(separator: ", ")) "
                    + "for each of \(variables.count) trainable variables)",
                found: "\(slots.count) (another model's or another optimizer's state?)")
        }
        var values = kinds.map { _ in [[Float]](repeating: [], count: variables.count) }
        for (slot, pair) in zip(slots, config.kerasSlotOrder.pairs(slots: kinds.count, variables: variables.count)) {
            let variable = variables[pair.variable], kind = kinds[pair.slot]
            if let found = slot.kind, found != kind {
                throw KerasFormatError(
                    .malformed, file: file, layer: location, weight: slot.name,
                    expected: "the \(kind) slot of trainable variable \(pair.variable) (\(variable.name))", found: "a \(found) slot")
            }
            guard slot.shape == variable.shape else {
                throw KerasFormatError(
                    .shapeMismatch, file: file, layer: location, weight: "\(slot.name) (\(kind) of \(variable.name))",
                    expected: "\(variable.shape)", found: "\(slot.shape)")
            }
            values[pair.slot][pair.variable] = slot.values
        }
        let state = OptimizerState(
            iterations: iterations, slots: zip(kinds, values).map { OptimizerSlot(name: $0, values: $1) })
        return TrainedOptimizer(config: config, state: state)
    }

    /// Every optimizer class of Keras, so that a file naming one the engine lacks (`Adagrad`,
    /// `nadam_1`) is refused by name instead of being mistaken for a renamed optimizer.
    static let allKerasClassNames = [
        "Adadelta", "Adafactor", "Adagrad", "Adam", "Adamax", "AdamW", "Ftrl", "Lamb", "Lion", "LossScaleOptimizer", "Muon", "Nadam",
        "RMSprop", "SGD"
    ]

    /// The Keras class an optimizer name stands for: a class name (tf-keras' slot prefix) or Keras 3's
    /// default name of one (its snake case, `adam_w_2`); nil for any other name (a user's own).
    static func kerasClassName(ofName name: String) -> String? {
        let bare = withoutNumberSuffix(name)
        return allKerasClassNames.first { $0 == name || kerasSnakeCase($0) == bare }
    }

    /// `name` without Keras' uniquifying suffix (`adam_w_2` → `adam_w`).
    static func withoutNumberSuffix(_ name: String) -> String {
        guard let underscore = name.lastIndex(of: "_"), name[name.index(after: underscore)...].allSatisfy(\.isNumber),
            underscore < name.index(before: name.endIndex)
        else { return name }
        return String(name[..<underscore])
    }

    /// The refusal of state kept by an optimizer class the engine does not implement.
    static func unsupported(_ className: String, file: String, location: String) -> KerasFormatError {
        KerasFormatError(
            .wrongFormat, file: file, layer: location,
            expected: "the state of one of Keras' \(OptimizerConfig.kerasClassNames.joined(separator: ", ")) optimizers",
            found: "\(className)'s state (an optimizer the toolkit does not train with)")
    }

    /// The same state with the file's own optimizer description, when it has one.
    func with(config: OptimizerConfig?) -> StoredOptimizer {
        var copy = self
        if let config {
            // Keras 3 keeps the rate in use (a callback may have changed it) beside the compiled one.
            let rate = learningRate.map(Double.init)
            copy.config = rate.map { Float($0) == Float(config.learningRate) ? config : config.with(learningRate: $0) } ?? config
            copy.className = config.kerasClassName
        }
        return copy
    }
}
