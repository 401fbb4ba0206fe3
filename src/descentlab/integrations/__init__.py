"""The book's momentum and Nesterov for deep-learning libraries, imported explicitly:

    from descentlab.integrations.torch import BookNesterov, BookMomentum   # needs torch
    from descentlab.integrations.optax import book_nesterov, book_momentum  # needs optax (jax)

Nothing is imported here, so ``import descentlab`` never pulls in torch or jax.
"""
