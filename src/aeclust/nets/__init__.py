"""The networks: autoencoders and the contrastive encoder, their layers, training and encoding.

Every module here imports Keras: only the stages that train or encode load this package."""
