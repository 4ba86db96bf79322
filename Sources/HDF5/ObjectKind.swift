/// What a link in a group points to.
public enum ObjectKind: Sendable, Equatable {
    case group, dataset
    /// A named datatype or anything else that is neither group nor dataset.
    case other
}
