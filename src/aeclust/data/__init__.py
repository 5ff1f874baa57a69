"""Where the images come from and how they are sampled, scaled and distorted."""
