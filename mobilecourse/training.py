"""Training helpers shared by the compression lessons: one recipe, so results compare.

The recipe: Adam, sparse categorical cross-entropy on integer labels, accuracy, no XLA
(``jit_compile=False`` is faster on a laptop CPU), and a learning rate that is either
constant or decays along a cosine to zero over the run (better for fine-tuning a
pruned model: large steps first, then settling).

:func:`fit` compiles the model afresh on every call, so each call starts with a new
optimizer and the learning rate it is given. This matters for copies: a model
cloned from a compiled one (``keras.models.clone_model``, :func:`pruning.strip_pruning`)
comes back already compiled with the original's settings, and a fine-tuning run must not
silently inherit them.
"""

from __future__ import annotations

from mobilecourse._validate import choice, integer, positive_number

__all__ = ["SCHEDULES", "accuracy", "compile_model", "fit"]

#: Learning-rate schedules :func:`fit` accepts.
SCHEDULES = ("constant", "cosine")


def compile_model(model, learning_rate: float = 3e-3, decay_steps: int | None = None):
    """Compile ``model`` with the course recipe and a fresh Adam optimizer.

    Args:
        model: a Keras model.
        learning_rate: the (initial) learning rate, > 0.
        decay_steps: ``None`` for a constant rate; otherwise the rate follows
            ``keras.optimizers.schedules.CosineDecay`` from ``learning_rate`` to 0 over
            this many optimizer steps.

    Returns:
        ``model``, compiled.

    Raises:
        ValueError: a non-positive ``learning_rate`` or ``decay_steps``.
    """
    import keras

    rate = positive_number(learning_rate, "learning_rate")
    if decay_steps is not None:
        rate = keras.optimizers.schedules.CosineDecay(rate, integer(decay_steps, "decay_steps"))
    model.compile(
        optimizer=keras.optimizers.Adam(rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
        jit_compile=False,
    )
    return model


def fit(
    model,
    train,
    epochs: int = 8,
    batch_size: int = 64,
    learning_rate: float = 3e-3,
    schedule: str = "constant",
    callbacks=(),
):
    """Compile ``model`` afresh (:func:`compile_model`) and train it quietly on ``train``.

    Args:
        model: a Keras model with a softmax output.
        train: ``(x, y)`` with integer labels ``y``.
        epochs: passes over ``train``.
        batch_size: samples per step.
        learning_rate: initial learning rate.
        schedule: ``"constant"``, or ``"cosine"`` to decay to 0 over the
            ``epochs * ceil(len(x) / batch_size)`` steps of this call.
        callbacks: Keras callbacks (e.g. :class:`pruning.MagnitudePruning`).

    Returns:
        The Keras ``History``.

    Raises:
        ValueError: a bad ``epochs``, ``batch_size``, ``learning_rate`` or ``schedule``.
    """
    epochs = integer(epochs, "epochs")
    batch_size = integer(batch_size, "batch_size")
    choice(schedule, "schedule", SCHEDULES)
    x, y = train
    steps = epochs * -(-len(x) // batch_size)
    compile_model(model, learning_rate, decay_steps=steps if schedule == "cosine" else None)
    return model.fit(
        x, y, epochs=epochs, batch_size=batch_size, verbose=0, callbacks=list(callbacks)
    )


def accuracy(model, data, batch_size: int = 256) -> float:
    """Top-1 accuracy of a Keras model on ``data = (x, y)`` (integer labels)."""
    import numpy as np

    x, y = data
    predictions = model.predict(x, batch_size=batch_size, verbose=0)
    return float(np.mean(np.argmax(predictions, axis=-1) == np.asarray(y)))
