/// Keras' `to_snake_case`, the base of every automatic layer name ("MaxPooling2D" → "max_pooling2d").
///
/// Mirrors tf-keras `utils/generic_utils.py` and Keras 3 `utils/naming.py`, which agree for class
/// names: drop non-word characters (Keras 3), insert `_` before each capitalised word and between a
/// lower-case letter and a capital, lower-case the result; a leading `_` becomes `private_` (tf-keras).
public func kerasSnakeCase(_ className: String) -> String {
    let word = className.filter { $0.isLetter || $0.isNumber || $0 == "_" }
    let capitalisedWord = /(.)([A-Z][a-z]+)/
    let lowerThenUpper = /([a-z])([A-Z])/
    let snake = word
        .replacing(capitalisedWord) { "\($0.1)_\($0.2)" }
        .replacing(lowerThenUpper) { "\($0.1)_\($0.2)" }
        .lowercased()
    return snake.hasPrefix("_") ? "private" + snake : snake
}
