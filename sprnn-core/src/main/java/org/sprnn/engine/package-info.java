/**
 * What every engine is and how one is chosen: the {@link org.sprnn.engine.Engine} interface and its results
 * ({@link org.sprnn.engine.RnnOutput}, {@link org.sprnn.engine.FloatRnnOutput}), the one argument check every
 * engine applies ({@link org.sprnn.engine.RunInputs}, {@link org.sprnn.engine.Float32Range}), the accuracy
 * measure ({@link org.sprnn.engine.Accuracy}), and the one provider that knows every engine, picks one for
 * {@link org.sprnn.engine.EngineOptions} and records why each other was not used
 * ({@link org.sprnn.engine.EngineProvider}, {@link org.sprnn.engine.EngineSelection}).
 *
 * <p>Imports {@link org.sprnn.model}. The engines live in the sibling packages {@code engine.cpu} and
 * {@code engine.cuda}, which import this one; of this package only {@link org.sprnn.engine.EngineProvider}
 * imports them, to list their factories.
 */
package org.sprnn.engine;
