"""khabar's core: settings, the article model, parsing, Persian text and message cards."""
