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

from functools import partial

from mobilecourse._validate import (
    built_model,
    choice,
    dataset,
    fraction,
    integer,
    positive_number,
)

__all__ = [
    "BASELINE_RECIPE",
    "SCHEDULES",
    "accuracy",
    "accuracy_over_seeds",
    "accuracy_over_seeds_per_set",
    "compile_model",
    "distill",
    "distillation_loss",
    "fit",
    "predict",
    "reestimate_batchnorm",
    "soft_targets",
    "spread",
    "steps_per_epoch",
    "top1",
    "trained_baseline",
]

#: Learning-rate schedules :func:`fit` accepts.
SCHEDULES = ("constant", "cosine")


def compile_model(
    model,
    learning_rate: float = 3e-3,
    decay_steps: int | None = None,
    loss="sparse_categorical_crossentropy",
):
    """Compile ``model`` with the course recipe and a fresh Adam optimizer.

    Args:
        model: a Keras model.
        learning_rate: the (initial) learning rate, > 0.
        decay_steps: ``None`` for a constant rate; otherwise the rate follows
            ``keras.optimizers.schedules.CosineDecay`` from ``learning_rate`` to 0 over
            this many optimizer steps.
        loss: the loss; the default takes integer labels. Any other loss (e.g.
            :func:`distillation_loss`) is compiled without the accuracy metric, whose
            labels it may not understand.

    Returns:
        ``model``, compiled.

    Raises:
        ValueError: a non-positive ``learning_rate`` or ``decay_steps``.
    """
    import keras

    rate = positive_number(learning_rate, "learning_rate")
    if decay_steps is not None:
        rate = keras.optimizers.schedules.CosineDecay(rate, integer(decay_steps, "decay_steps"))
    standard = isinstance(loss, str) and loss == "sparse_categorical_crossentropy"
    model.compile(
        optimizer=keras.optimizers.Adam(rate),
        loss=loss,
        metrics=["accuracy"] if standard else None,
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
            ``epochs * steps_per_epoch(len(x), batch_size)`` steps of this call.
        callbacks: Keras callbacks (e.g. :class:`pruning.MagnitudePruning`).

    Returns:
        The Keras ``History``.

    Raises:
        ValueError: a bad ``epochs``, ``batch_size``, ``learning_rate`` or ``schedule``.
    """
    x, y = train
    return _train(model, x, y, epochs, batch_size, learning_rate, schedule, callbacks=callbacks)


def steps_per_epoch(samples: int, batch_size: int) -> int:
    """Optimizer steps in one epoch of :func:`fit`: full batches only.

    Every epoch reshuffles all the samples and leaves out the last ``samples % batch_size``
    of them (a different few each epoch). A last, smaller batch would make TensorFlow trace
    the training step a second time for its shape, which costs more than the step.

    Raises:
        ValueError: fewer samples than one batch.
    """
    samples, batch_size = integer(samples, "samples"), integer(batch_size, "batch_size")
    if samples < batch_size:
        raise ValueError(
            f"batch_size must be at most the number of samples ({samples}), got {batch_size}"
        )
    return samples // batch_size


def _train(model, x, y, epochs, batch_size, learning_rate, schedule, loss=None, callbacks=()):
    """Compile afresh (course recipe, optional cosine decay over this run) and fit quietly."""
    import numpy as np

    epochs = integer(epochs, "epochs")
    choice(schedule, "schedule", SCHEDULES)
    x, y = np.asarray(x), np.asarray(y)
    if len(x) != len(y):
        raise ValueError(f"x and y must hold as many samples, got {len(x)} and {len(y)}")
    steps = epochs * steps_per_epoch(len(x), batch_size)
    compile_model(
        model,
        learning_rate,
        decay_steps=steps if schedule == "cosine" else None,
        **({} if loss is None else {"loss": loss}),
    )
    batches = _shuffled_batches(x, y, batch_size)
    return model.fit(batches, epochs=epochs, shuffle=False, verbose=0, callbacks=list(callbacks))


# ---------------------------------------------------------------- knowledge distillation

#: Probabilities are clipped to [EPSILON, 1] before a log, as Keras's cross-entropy does.
EPSILON = 1e-7


def soft_targets(logits, temperature: float):
    """Softened class probabilities ``softmax(z / T)`` (Hinton et al. 2015), row by row.

    Formula:
        ``q_i = exp(z_i / T) / sum_j exp(z_j / T)``, computed as
        ``exp(z_i / T - max_j z_j / T)`` over its sum so that large logits cannot overflow.
        ``T = 1`` is the ordinary softmax; a larger ``T`` spreads the probability over
        the wrong classes, whose relative sizes are what a student learns from.

    Args:
        logits: ``(n, classes)`` or ``(classes,)`` scores (log-probabilities work too: a
            constant shift per row does not change a softmax).
        temperature: ``T > 0``.

    Returns:
        A float64 array of the same shape whose rows sum to 1.

    Raises:
        ValueError: a non-positive ``temperature`` or logits that are not finite.
    """
    import numpy as np

    temperature = positive_number(temperature, "temperature")
    z = np.asarray(logits, dtype="float64") / temperature
    if z.ndim not in (1, 2) or z.size == 0 or not np.isfinite(z).all():
        raise ValueError(
            f"logits must be a finite (classes,) or (n, classes) array, got shape {z.shape}"
        )
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def distillation_loss(temperature: float = 4.0, alpha: float = 0.5):
    """The knowledge-distillation loss for a student with a softmax output.

    Formula:
        ``(1 - alpha) * CE(y, p_s) + alpha * T**2 * KL(q_t || q_s)`` per sample, where
        ``p_s`` is the student's output, ``q_s = softmax(log(p_s) / T)`` its softened
        output and ``q_t`` the teacher's soft targets at the same ``T`` (Hinton et al.
        2015, Section 2; ``T**2`` keeps the soft term's gradients the same size for any
        ``T``).

    Args:
        temperature: ``T > 0`` used for both teacher and student.
        alpha: weight of the soft (teacher) term, in [0, 1).

    Returns:
        A Keras loss ``loss(y_true, y_pred)`` whose ``y_true`` rows are the one-hot label
        followed by the teacher's soft targets (``2 * classes`` columns), as
        :func:`distill` builds them.

    Raises:
        ValueError: a bad ``temperature`` or ``alpha``.
    """
    import keras

    temperature = positive_number(temperature, "temperature")
    alpha = fraction(alpha, "alpha")
    ops = keras.ops

    def loss(y_true, y_pred):
        classes = ops.shape(y_pred)[-1]
        hard, teacher = y_true[:, :classes], y_true[:, classes:]
        log_p = ops.log(ops.clip(y_pred, EPSILON, 1.0))
        log_q = ops.log_softmax(log_p / temperature, axis=-1)
        cross_entropy = -ops.sum(hard * log_p, axis=-1)
        kl = ops.sum(teacher * (ops.log(ops.clip(teacher, EPSILON, 1.0)) - log_q), axis=-1)
        return (1.0 - alpha) * cross_entropy + alpha * temperature**2 * kl

    return loss


def distill(
    student,
    teacher,
    train,
    temperature: float = 4.0,
    alpha: float = 0.5,
    epochs: int = 8,
    batch_size: int = 64,
    learning_rate: float = 3e-3,
    schedule: str = "cosine",
):
    """Train ``student`` on the labels and on the softened outputs of a trained ``teacher``.

    The teacher runs once over the training images (there is no augmentation, so its
    soft targets per image never change); its log-probabilities are its logits up to a
    constant per row. The student is then compiled afresh with
    :func:`distillation_loss` and trained like :func:`fit` does.

    Args:
        student: a Keras model with a softmax output; it is trained in place.
        teacher: a trained Keras model with a softmax output and the same classes.
        train: ``(x, y)`` with integer labels ``y``.
        temperature: ``T`` of the soft targets, > 0.
        alpha: weight of the soft term, in [0, 1).
        epochs, batch_size, learning_rate, schedule: as in :func:`fit`.

    Returns:
        The Keras ``History``.

    Raises:
        ValueError: a bad argument, or teacher and student with different outputs.
    """
    import numpy as np

    x, y = train
    classes = student.outputs[0].shape[-1]
    if teacher.outputs[0].shape[-1] != classes:
        raise ValueError(
            f"teacher has {teacher.outputs[0].shape[-1]} outputs, student has {classes}: "
            "they must predict the same classes"
        )
    loss = distillation_loss(temperature, alpha)
    teacher_p = predict(teacher, x)
    teacher_q = soft_targets(np.log(np.clip(teacher_p, EPSILON, 1.0)), temperature)
    targets = np.concatenate([np.eye(classes)[np.asarray(y)], teacher_q], axis=1)
    return _train(
        student, x, targets.astype("float32"), epochs, batch_size, learning_rate, schedule, loss
    )


def predict(model, x, batch_size: int = 256):
    """The model's outputs for ``x``, in inference mode, as one NumPy array.

    The model is called directly, batch by batch, instead of through ``model.predict``,
    which traces a new function for every model it sees: a lesson that evaluates many
    pruned copies would spend most of its time tracing.
    """
    import keras
    import numpy as np

    batch_size = integer(batch_size, "batch_size")
    x = np.asarray(x)
    if len(x) == 0:
        raise ValueError("x must hold at least one input")
    parts = [
        keras.ops.convert_to_numpy(model(x[i : i + batch_size], training=False))
        for i in range(0, len(x), batch_size)
    ]
    return np.concatenate(parts)


def top1(labels, outputs) -> float:
    """The share of rows of ``outputs`` whose largest entry is at the row's label.

    The one accuracy computation of the package: :func:`accuracy` (Keras models and
    ``.tflite`` files) and :func:`mobilecourse.pruning.sensitivity_scan` use it. The
    arguments come in the order of a Keras metric, ``(y_true, y_pred)``.

    Formula:
        ``mean(argmax(outputs[i]) == labels[i])`` over the ``n`` rows.

    Args:
        labels: ``(n,)`` integer labels.
        outputs: ``(n, classes)`` scores or probabilities.

    Raises:
        ValueError: the shapes do not match.
    """
    import numpy as np

    outputs, labels = np.asarray(outputs), np.asarray(labels)
    if outputs.ndim != 2 or labels.shape != outputs.shape[:1] or len(labels) == 0:
        raise ValueError(
            "outputs must be (n, classes) and labels (n,) with n >= 1, got "
            f"{outputs.shape} and {labels.shape}"
        )
    return float(np.mean(np.argmax(outputs, axis=-1) == labels))


def accuracy(model, data, batch_size: int = 256) -> float:
    """Top-1 accuracy of a Keras model or a ``.tflite`` file on ``data = (x, y)``.

    A Keras model runs in inference mode, ``batch_size`` images at a time
    (:func:`predict`); a ``.tflite`` file (its bytes, any of :data:`tflite.MODES`) runs
    in the LiteRT interpreter one image at a time, as an app calls it, on one thread.

    Args:
        model: a ``keras.Model`` or the bytes of a ``.tflite`` file.
        data: ``(x, y)``: inputs and integer labels (or one-hot rows).
        batch_size: images per call of a Keras model.

    Returns:
        The fraction of samples whose arg-max output equals the label (:func:`top1`).

    Raises:
        TypeError: ``model`` is neither; ``data`` is not a pair.
        ValueError: ``x`` and ``y`` differ in length or are empty; a bad ``batch_size``.
    """
    import numpy as np

    x, y = dataset(data)
    if isinstance(model, (bytes, bytearray)):
        from mobilecourse import tflite

        interp = tflite.interpreter(bytes(model))
        outputs = [tflite.run(interp, sample[None]) for sample in x.astype("float32")]
        return top1(y, np.concatenate(outputs))
    return top1(y, predict(built_model(model), x, batch_size))


# ---------------------------------------------------------------- BatchNorm statistics


def reestimate_batchnorm(model, x, samples: int = 1000):
    """Recompute every BatchNormalization layer's moving mean and variance on inputs ``x``.

    A BatchNorm layer normalizes with the mean and variance of its input that it
    averaged during training. Changing the weights before it (pruning, weight sharing)
    changes those statistics, and the stale ones then shift and scale every channel
    wrongly. Re-estimating them costs one forward pass and no training.

    Formula:
        For each layer, in the order of the network, ``moving_mean = mean(a)`` and
        ``moving_variance = var(a)`` (biased, as Keras computes it) over the batch and
        spatial axes of its input ``a``, computed with the statistics already
        re-estimated upstream. One forward pass in training mode over all the samples at
        once, with momentum 0, gives exactly that.

    Args:
        model: a built Keras model; its BatchNormalization layers are updated in place.
        x: input images ``(n, *input_shape)``; the first ``samples`` are used.
        samples: images used (>= 2), all in one batch.

    Returns:
        ``model``.

    Raises:
        TypeError: ``model`` is not a Keras model.
        ValueError: a bad ``samples`` or ``x``, or a layer that is random in training
            mode (dropout, noise), which would change the statistics.
    """
    import keras
    import numpy as np

    if not isinstance(model, keras.Model):
        raise TypeError(f"model must be a keras.Model, got {type(model).__name__}")
    samples = integer(samples, "samples", 2)
    random_kinds = (
        keras.layers.Dropout,
        keras.layers.GaussianNoise,
        keras.layers.GaussianDropout,
        keras.layers.AlphaDropout,
    )
    layers = list(_nested_layers(model))
    noisy = [layer.name for layer in layers if isinstance(layer, random_kinds)]
    if noisy:
        raise ValueError(
            f"model has layers that are random in training mode ({', '.join(noisy)}): their "
            "noise would enter the statistics; re-estimate on a copy without them"
        )
    shape = tuple(model.inputs[0].shape[1:])
    array = np.asarray(x, dtype="float32")[:samples]
    if array.ndim != len(shape) + 1 or len(array) < 2:
        raise ValueError(f"x must have shape (n >= 2, *{shape}), got {np.shape(x)}")
    norms = [layer for layer in layers if isinstance(layer, keras.layers.BatchNormalization)]
    saved = [(layer.momentum, layer.trainable) for layer in norms]
    try:
        for layer in norms:  # a frozen BatchNorm layer would not update in training mode
            layer.momentum, layer.trainable = 0.0, True
        model(array, training=True)
    finally:
        for layer, (momentum, trainable) in zip(norms, saved, strict=True):
            layer.momentum, layer.trainable = momentum, trainable
    return model


def _nested_layers(model):
    """Every layer of ``model``, inside nested models too."""
    for layer in model.layers:
        yield layer
        if hasattr(layer, "layers"):
            yield from _nested_layers(layer)


# ---------------------------------------------------------------- the lessons' baseline

#: How lessons 06, 07 and 08 train their starting network, ``models.digits_cnn(width=2.0)``.
BASELINE_RECIPE = {
    "width": 2.0,
    "epochs": 5,
    "batch_size": 64,
    "learning_rate": 3e-3,
    "schedule": "cosine",
}


def _baseline_name(x, y, seed: int) -> str:
    """The cache file of the baseline trained on ``(x, y)`` with ``seed`` on this machine."""
    import os
    import platform

    from mobilecourse import cache

    facts = {
        "recipe": BASELINE_RECIPE,
        "seed": seed,
        # float results depend on the CPU and on how many threads split the work
        "cpu": cache.machine_info()["cpu"],
        "machine": platform.machine(),
        "cpus": sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
    }
    code = ("training.py", "models.py", "blocks.py", "_validate.py")
    return f"digits_cnn_2x-{cache.key(facts, code, x, y)}.weights.h5"


def trained_baseline(train, seed: int):
    """``models.digits_cnn(width=2.0)`` trained with :data:`BASELINE_RECIPE`, kept in a cache.

    Lessons 06, 07 and 08 all start from this network; training it costs about 12 s on
    2 cores. The first lesson to ask trains it (after ``keras.utils.set_random_seed(seed)``)
    and keeps its weights in the course's cache (:mod:`mobilecourse.cache`); a later
    lesson on the same machine, with the same seed, data, course code, library versions
    and CPUs (the thread count changes float results), loads them instead: the same
    weights, bit for bit, that its own training would give. Either way the random state
    is reset with ``seed`` afterwards, so what the lesson does next does not depend on
    whether the cache was used.

    Args:
        train: ``(x, y)`` training images and integer labels.
        seed: the lesson's seed (``setup_notebook()`` returns it).

    Returns:
        The trained Keras model, named ``digits_cnn_2x``.

    Raises:
        ValueError: a bad ``seed`` or ``train``.
    """
    import keras
    import numpy as np

    from mobilecourse import cache, models

    seed = integer(seed, "seed", 0)
    x, y = (np.asarray(part) for part in train)
    recipe = dict(BASELINE_RECIPE)
    keras.utils.set_random_seed(seed)
    model = models.digits_cnn(width=recipe.pop("width"))
    name = _baseline_name(x, y, seed)
    cached = cache.lookup(name)
    if cached is not None:
        model.load_weights(cached)
    else:
        _train(model, x, y, **recipe)
        cache.store(name, model.save_weights)
    keras.utils.set_random_seed(seed)
    return model


# ---------------------------------------------------------------- one result, several seeds


def accuracy_over_seeds(
    build,
    train,
    test,
    seeds=(0, 1, 2),
    epochs: int = 4,
    batch_size: int = 64,
    learning_rate: float = 3e-3,
    schedule: str = "cosine",
) -> list[float]:
    """Test accuracy of the network ``build()`` trained once per seed with :func:`fit`'s recipe.

    One trained accuracy is one draw: the initial weights and the order of the batches
    depend on the seed. Training from several seeds shows the spread an architecture
    comparison has to beat (:func:`spread` sums it up).

    For each seed: ``keras.utils.set_random_seed(seed)``, build the network (its initial
    weights), train it with Adam on shuffled full batches as :func:`fit` does, measure
    :func:`accuracy` on ``test``. To save the tracing of the training step (about a
    second per model on a laptop CPU), the first built model is compiled once and
    trained for every seed: each seed's freshly built weights (BatchNorm statistics
    included) are copied into it and the optimizer's state is reset to its start (step 0,
    zero moments). A seed gives the same accuracy on every run on one machine; another
    CPU or thread count gives other trained numbers.

    Args:
        build: a function of no arguments that returns a new, uncompiled Keras model with
            a softmax output; it is called once per seed (and once more to compile).
        train: ``(x, y)`` training inputs and integer labels.
        test: ``(x, y)`` test inputs and integer labels.
        seeds: the seeds, integers from 0 to 2**32 - 1 (at least one).
        epochs, batch_size, learning_rate, schedule: as in :func:`fit`.

    Returns:
        The test accuracies, one per seed, in the order of ``seeds``.

    Raises:
        TypeError: ``build`` is not callable, or a seed or ``train``/``test`` of the
            wrong type.
        ValueError: a bad seed, setting or dataset, or ``build`` returns models of
            different shapes.
    """
    x, y = dataset(train, "train")
    epochs = integer(epochs, "epochs")
    choice(schedule, "schedule", SCHEDULES)
    steps = epochs * steps_per_epoch(len(x), batch_size)
    trainer = _SeedTrainer(
        build, seeds, test, learning_rate, steps if schedule == "cosine" else None
    )

    return trainer.run(partial(_shuffled_batches, x, y, batch_size), epochs)


def accuracy_over_seeds_per_set(
    build,
    train_sets,
    test,
    seeds=(0, 1, 2),
    steps: int = 80,
    batch_size: int = 32,
    learning_rate: float = 3e-3,
) -> dict[str, list[float]]:
    """:func:`accuracy_over_seeds` for several training sets, each trained for ``steps`` steps.

    Made for few-shot learning, where the training sets differ in size (10, 30, 100 examples
    per class) and every method and set should get the same number of optimizer steps: each
    set is shuffled, repeated as often as needed and cut into exactly ``steps`` full
    batches of ``batch_size`` (a set smaller than a batch is repeated within the batch);
    the learning rate follows a cosine from ``learning_rate`` to 0 over the ``steps``. One
    model is compiled for all the sets and seeds (one tracing of the training step), with
    each seed's fresh weights and a reset optimizer, as in :func:`accuracy_over_seeds`.

    Args:
        build: a function of no arguments that returns a new, uncompiled Keras model with
            a softmax output.
        train_sets: a dict ``{name: (x, y)}`` of training sets (at least one).
        test: ``(x, y)`` test inputs and integer labels, the same for every set.
        seeds: the seeds, integers from 0 to 2**32 - 1 (at least one).
        steps: optimizer steps per set and seed (>= 1).
        batch_size: samples per step (>= 1).
        learning_rate: the initial learning rate (> 0).

    Returns:
        ``{name: [accuracy for each seed]}``, in the order of ``train_sets`` and ``seeds``.

    Raises:
        TypeError, ValueError: a bad argument, named in the message.
    """
    if not isinstance(train_sets, dict) or not train_sets:
        raise TypeError(
            f"train_sets must be a non-empty dict {{name: (x, y)}}, got {type(train_sets).__name__}"
        )
    sets = {name: dataset(value, f"train_sets[{name!r}]") for name, value in train_sets.items()}
    steps = integer(steps, "steps")
    batch_size = integer(batch_size, "batch_size")
    trainer = _SeedTrainer(build, seeds, test, learning_rate, steps)
    results = {}
    for name, (x, y) in sets.items():
        results[name] = trainer.run(partial(_shuffled_batches, x, y, batch_size, steps), 1)
    return results


def _shuffled_batches(x, y, batch_size: int, steps: int | None = None):
    """Full batches of ``(x, y)``, reshuffled every pass (seeded by ``set_random_seed``).

    One pass (an epoch) without ``steps``; with ``steps``, exactly that many batches,
    the data repeated as often as needed.
    """
    import tensorflow as tf

    data = tf.data.Dataset.from_tensor_slices((x, y)).shuffle(len(x), reshuffle_each_iteration=True)
    if steps is None:
        return data.batch(batch_size, drop_remainder=True)
    return data.repeat().batch(batch_size, drop_remainder=True).take(steps)


class _SeedTrainer:
    """One compiled model, trained from each seed's fresh weights with a reset optimizer."""

    def __init__(self, build, seeds, test, learning_rate, decay_steps):
        import keras

        if not callable(build):
            raise TypeError(
                f"build must be a function that returns a new Keras model, got {build!r}"
            )
        if isinstance(seeds, (str, bytes)) or not hasattr(seeds, "__iter__"):
            raise TypeError(f"seeds must be a list of integers, got {seeds!r}")
        self.seeds = [integer(seed, "seeds", 0, maximum=2**32 - 1) for seed in seeds]
        if not self.seeds:
            raise ValueError("seeds must hold at least one seed")
        self.test = dataset(test, "test")
        self.build = build
        keras.utils.set_random_seed(self.seeds[0])
        model = build()
        if not isinstance(model, keras.Model):
            raise TypeError(f"build() must return a keras.Model, got {type(model).__name__}")
        compile_model(model, learning_rate, decay_steps=decay_steps)
        model.optimizer.build(model.trainable_variables)
        self.start = [v.numpy() for v in model.optimizer.variables]
        self.model = model

    def run(self, batches, epochs: int) -> list[float]:
        """Test accuracies, one per seed, of the model trained on ``batches()``."""
        import keras
        import numpy as np

        model = self.model
        accuracies = []
        for seed in self.seeds:
            keras.utils.set_random_seed(seed)
            fresh = self.build()
            try:
                model.set_weights(fresh.get_weights())
            except ValueError as err:
                raise ValueError(
                    f"build() must return the same network every time: {err}"
                ) from None
            for variable, value in zip(model.optimizer.variables, self.start, strict=True):
                variable.assign(value)
            model.fit(batches(), epochs=epochs, shuffle=False, verbose=0)
            accuracies.append(top1(self.test[1], predict(model, np.asarray(self.test[0]))))
        return accuracies


def spread(values) -> str:
    """A few results (accuracies over seeds) as ``"mean ± sd (min to max)"``.

    Formula:
        mean ``m = (v_1 + ... + v_n) / n``; sample standard deviation
        ``sd = sqrt(sum (v_i - m)^2 / (n - 1))`` (0 for one value); the smallest and
        the largest value. One decimal each.

    Raises:
        ValueError: no values, or values that are not finite numbers.
    """
    from mobilecourse._validate import real_array

    values = real_array(values, "values").ravel()
    sd = float(values.std(ddof=1)) if len(values) > 1 else 0.0
    return f"{values.mean():.1f} ± {sd:.1f} ({values.min():.1f} to {values.max():.1f})"
