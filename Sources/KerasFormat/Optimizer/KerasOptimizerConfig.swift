import DenseNetEngine

/// Keras' description of an optimizer, `{"class_name": …, "config": {…}}` — tf-keras'
/// `training_config.optimizer_config` and Keras 3's `compile_config.optimizer` — read into and
/// written from the engine's `OptimizerConfig`.
///
/// The `config` dictionaries are what `get_config()` returns in each generation, key for key
/// (`Fixtures/keras/optimizers_*.h5` record them): tf-keras 2.21 starts with `name` (the class
/// name) and its base options, Keras 3.15 with a snake-case `name` (`adam`, `adam_w`, `rm_sprop`,
/// `sgd`) and two more base options; both end with the class's own hyperparameters.
extension OptimizerConfig {
    /// The optimizer of a Keras description: SGD, RMSprop, Adam or AdamW (tf-keras' registered
    /// names, `Custom>Adam`, included). Throws, naming `file` and the option, for any other class
    /// and for options the engine does not implement (amsgrad, EMA, clipping, schedules, loss scaling).
    public init(keras description: JSON, file: String) throws {
        func refuse(_ expected: String, _ found: String) -> KerasFormatError {
            KerasFormatError(.wrongFormat, file: file, layer: "optimizer", expected: expected, found: found)
        }
        guard let className = description["class_name"]?.stringValue else {
            throw KerasFormatError(
                .malformed, file: file, layer: "optimizer", expected: "an optimizer with a class_name", found: "\(description)")
        }
        let bareName = className.split(separator: ">").last.map(String.init) ?? className
        guard let kind = Self.kerasClassNames.first(where: { $0 == bareName }) else {
            throw refuse("one of Keras' \(Self.kerasClassNames.joined(separator: ", ")) optimizers", className)
        }
        let options = description["config"] ?? .object([])
        func number(_ key: String, _ fallback: Double) throws -> Double {
            guard let value = options[key], value != .null else { return fallback }
            guard let number = value.doubleValue else { throw refuse("a number for \(key) (no schedules)", "\(value)") }
            return number
        }
        func flag(_ key: String) throws -> Bool {
            guard let value = options[key], value != .null else { return false }
            guard case let .bool(flag) = value else { throw refuse("true or false for \(key)", "\(value)") }
            return flag
        }
        if try flag("use_ema") { throw refuse("\(kind) without use_ema", "use_ema = true") }
        if try flag("amsgrad") { throw refuse("\(kind) without amsgrad", "amsgrad = true") }
        var unsupported = ["clipnorm", "global_clipnorm", "clipvalue", "loss_scale_factor", "gradient_accumulation_steps"]
        if kind != "AdamW" { unsupported.append("weight_decay") }
        for option in unsupported {
            if let value = options[option], value != .null { throw refuse("\(kind) without \(option)", "\(option) = \(value)") }
        }
        let learningRate = try number("learning_rate", kind == "SGD" ? 0.01 : 0.001)
        switch kind {
        case "SGD":
            self = .sgd(SGDConfig(learningRate: learningRate, momentum: try number("momentum", 0), nesterov: try flag("nesterov")))
        case "RMSprop":
            self = .rmsprop(
                RMSpropConfig(
                    learningRate: learningRate, rho: try number("rho", 0.9), momentum: try number("momentum", 0),
                    epsilon: try number("epsilon", 1e-7), centered: try flag("centered")))
        case "AdamW":
            self = .adamW(
                AdamWConfig(
                    learningRate: learningRate, weightDecay: try number("weight_decay", 0.004), beta1: try number("beta_1", 0.9),
                    beta2: try number("beta_2", 0.999), epsilon: try number("epsilon", 1e-7)))
        default:
            self = .adam(
                AdamConfig(
                    learningRate: learningRate, beta1: try number("beta_1", 0.9), beta2: try number("beta_2", 0.999),
                    epsilon: try number("epsilon", 1e-7)))
        }
    }

    /// The classes the engine trains with, by their Keras names.
    static let kerasClassNames = ["SGD", "RMSprop", "Adam", "AdamW"]

    /// Keras' defaults of the class `className` names (`Adam`, `adam_w`, `Custom>SGD`, a Keras 3
    /// auto-name such as `rm_sprop_2`); nil for a name that is none of them.
    public init?(kerasClassName className: String) {
        let bare = String(className.split(separator: ">").last ?? "")
        switch StoredOptimizer.withoutNumberSuffix(bare).lowercased() {
        case "sgd": self = .sgd(SGDConfig())
        case "rmsprop", "rm_sprop": self = .rmsprop(RMSpropConfig())
        case "adam": self = .adam(AdamConfig())
        case "adamw", "adam_w": self = .adamW(AdamWConfig())
        default: return nil
        }
    }

    /// The same optimizer with another learning rate.
    public func with(learningRate: Double) -> OptimizerConfig {
        switch self {
        case var .sgd(c): c.learningRate = learningRate; return .sgd(c)
        case var .rmsprop(c): c.learningRate = learningRate; return .rmsprop(c)
        case var .adam(c): c.learningRate = learningRate; return .adam(c)
        case var .adamW(c): c.adam.learningRate = learningRate; return .adamW(c)
        }
    }

    /// Keras 3's default `name` for the class: its snake case (`adam_w`, `rm_sprop`).
    var keras3Name: String {
        switch self {
        case .sgd: "sgd"
        case .rmsprop: "rm_sprop"
        case .adam: "adam"
        case .adamW: "adam_w"
        }
    }

    /// tf-keras' `training_config.optimizer_config`, as `model.save` writes it.
    public var tfKerasDescription: JSON {
        // RMSprop's tf-keras constructor defaults ema_overwrite_frequency to 100, the others to None.
        let emaFrequency: JSON = if case .rmsprop = self { .int(100) } else { .null }
        let base: [(String, JSON)] = [
            ("name", .string(kerasClassName)), ("weight_decay", weightDecay), ("clipnorm", .null), ("global_clipnorm", .null),
            ("clipvalue", .null), ("use_ema", .bool(false)), ("ema_momentum", .double(0.99)), ("ema_overwrite_frequency", emaFrequency),
            ("jit_compile", .bool(false)), ("is_legacy_optimizer", .bool(false)), ("learning_rate", storedLearningRate)
        ]
        return .object([("class_name", .string("Custom>\(kerasClassName)")), ("config", .object(base + ownOptions))])
    }

    /// Keras 3's `compile_config.optimizer`, as `model.save` writes it.
    public var keras3Description: JSON {
        let base: [(String, JSON)] = [
            ("name", .string(keras3Name)), ("learning_rate", storedLearningRate), ("weight_decay", weightDecay), ("clipnorm", .null),
            ("global_clipnorm", .null), ("clipvalue", .null), ("use_ema", .bool(false)), ("ema_momentum", .double(0.99)),
            ("ema_overwrite_frequency", .null), ("loss_scale_factor", .null), ("gradient_accumulation_steps", .null)
        ]
        return .object([
            ("module", .string("keras.optimizers")), ("class_name", .string(kerasClassName)), ("config", .object(base + ownOptions)),
            ("registered_name", .null)
        ])
    }

    /// Keras keeps the learning rate in a float32 variable, so its config shows it at float32 precision.
    private var storedLearningRate: JSON { .double(Double(Float(learningRate))) }

    private var weightDecay: JSON {
        if case let .adamW(c) = self { .double(c.weightDecay) } else { .null }
    }

    /// The class's own hyperparameters, in `get_config()`'s order.
    private var ownOptions: [(String, JSON)] {
        func adam(_ c: AdamConfig) -> [(String, JSON)] {
            [("beta_1", .double(c.beta1)), ("beta_2", .double(c.beta2)), ("epsilon", .double(c.epsilon)), ("amsgrad", .bool(false))]
        }
        switch self {
        case let .sgd(c): return [("momentum", .double(c.momentum)), ("nesterov", .bool(c.nesterov))]
        case let .rmsprop(c):
            return [
                ("rho", .double(c.rho)), ("momentum", .double(c.momentum)), ("epsilon", .double(c.epsilon)), ("centered", .bool(c.centered))
            ]
        case let .adam(c): return adam(c)
        case let .adamW(c): return adam(c.adam)
        }
    }
}
