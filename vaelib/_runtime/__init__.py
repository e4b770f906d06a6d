"""What keeps vaelib's numbers reproducible and its kernels small, out of the chapters' sight.

    host          pins what the CPU would otherwise decide about the numbers (imported first)
    random_draws  every random number a model draws: Philox, stateless, from the model's seed
    validation    argument checks that name the bad value and what is accepted
    cache         the one way results are cached: atomic, hash-verified entries on disk (:func:`cache.cached`)
    batching      the one way a model is called on many images (:func:`batching.in_blocks`)
    memory        the one place freed memory is handed back to the system
"""
