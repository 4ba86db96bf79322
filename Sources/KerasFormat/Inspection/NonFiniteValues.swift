import DenseNetEngine

/// Weights holding NaN or infinite values: `inspect --stats` lists them (`InspectionReport.nonFinite`),
/// `verify` fails on them, `convert` warns (it copies them bit-exactly).
public enum NonFiniteValues {
    /// One line per variable of `model` holding any: "weight conv1/kernel [3, 3, 1, 8]: 1 NaN, 2 infinite of 72 values".
    public static func find(in model: Model) -> [String] {
        model.weights.compactMap { variable in
            let values = variable.values
            let nans = values.count(where: \.isNaN), infinities = values.count(where: \.isInfinite)
            guard nans + infinities > 0 else { return nil }
            return "weight \(variable.name) \(variable.shape): \(nans) NaN, \(infinities) infinite of \(values.count) values"
        }
    }
}
